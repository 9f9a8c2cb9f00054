package dev.legato.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Registries under Cluster Sharding (one node), persisted by the SQLite journal across a restart. */
class RegistryShardingTest {
  static final Duration TIMEOUT = Duration.ofSeconds(15);

  @TempDir Path dataDir;

  ActorSystem<Void> node() throws Exception {
    return node("http://127.0.0.1:9");
  }

  ActorSystem<Void> node(String podiumUrl) throws Exception {
    return node(podiumUrl, Map.of());
  }

  ActorSystem<Void> node(String podiumUrl, Map<String, String> settings) throws Exception {
    return node(dataDir, podiumUrl, settings);
  }

  ActorSystem<Void> node(Path dataDir, String podiumUrl, Map<String, String> settings) throws Exception {
    Config config = ConfigFactory.parseMap(settings)
        .withFallback(ConfigFactory.parseMap(Map.of("legato.storage.data-dir", dataDir.toString(), "legato.podium.url", podiumUrl)))
        .withFallback(ConfigFactory.parseString("""
            pekko.actor.provider = cluster
            pekko.remote.artery.canonical.hostname = 127.0.0.1
            pekko.remote.artery.canonical.port = 0
            pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
            pekko.loglevel = WARNING
            pekko.persistence.journal.plugin = "legato.storage.journal"
            pekko.persistence.snapshot-store.plugin = "legato.storage.snapshot"
            legato.registry.snapshot-every = 5
            """))
        .withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "legato", config);
    Cluster cluster = Cluster.get(system);
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (cluster.selfMember().status() != MemberStatus.up()) {
      assertTrue(System.nanoTime() < deadline, "the node did not come up");
      Thread.sleep(50);
    }
    ThreadRegistry.init(system);
    dev.legato.thread.ThreadEntity.init(system);
    return system;
  }

  /** Stops a node and waits until it has. */
  static void stop(ActorSystem<?> system) throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  static EntityRef<ThreadRegistry.Command> registry(ActorSystem<?> system, String tenant) {
    return ClusterSharding.get(system).entityRefFor(ThreadRegistry.TYPE_KEY, tenant);
  }

  static List<ThreadSummary> threads(ActorSystem<?> system, String tenant) throws Exception {
    return registry(system, tenant).<ThreadRegistry.ThreadPage>askWithStatus(
            reply -> new ThreadRegistry.ListThreads(new ThreadQuery(ThreadQuery.Archived.ALL, null, ThreadQuery.SortBy.CREATED, null, 100), reply),
            TIMEOUT)
        .toCompletableFuture().get(15, TimeUnit.SECONDS).threads();
  }

  @Test
  void registriesAreShardedPerTenantAndSurviveARestart() throws Exception {
    UUID first = UUID.randomUUID();
    ActorSystem<Void> system = node();
    try {
      for (int i = 0; i < 12; i++) {
        UUID id = i == 0 ? first : UUID.randomUUID();
        int n = i;
        registry(system, "tenant-a").<ThreadSummary>askWithStatus(
                reply -> new ThreadRegistry.Register(id, "thread " + n, "coder", 1000 + n, "/work", reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS);
      }
      registry(system, "tenant-a").tell(new ThreadRegistry.Touch(first, "the first prompt", 5000));
      assertEquals(12, threads(system, "tenant-a").size());
      assertEquals(List.of(), threads(system, "tenant-b"), "a tenant sees only its own threads");
    } finally {
      stop(system);
    }
    assertTrue(Files.isDirectory(dataDir.resolve("entities")), "the registry lives in the SQLite journal");

    ActorSystem<Void> restarted = node();
    try {
      List<ThreadSummary> recovered = threads(restarted, "tenant-a");
      assertEquals(12, recovered.size());
      ThreadSummary firstThread = recovered.stream().filter(t -> t.threadId().equals(first)).findFirst().orElseThrow();
      assertEquals("the first prompt", firstThread.preview());
      assertEquals(5000, firstThread.updatedAt());
    } finally {
      stop(restarted);
    }
  }

  @Test
  void aStartTakesAThreadPreparedAheadAndTheSparesNeverUsedLeaveNoFiles() throws Exception {
    try (dev.legato.podium.emulator.PodiumEmulator emulator =
             dev.legato.podium.emulator.PodiumEmulator.start(dev.legato.podium.emulator.EmulatorSettings.defaults())) {
      ActorSystem<Void> system = node(emulator.baseUrl(), Map.of("legato.thread.passivate-after", "2s"));
      try {
        EntityRef<ThreadRegistry.Command> registry = registry(system, "tenant-s");
        ThreadSummary first = registry.<ThreadSummary>askWithStatus(
            reply -> new ThreadRegistry.StartThread("echo", "first", "/work", reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS);
        Path sessions = dataDir.resolve("sessions");
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        List<String> spares = List.of();
        // the thread, and the two spares (legato.registry.spare-threads), their files made (a folder comes first)
        while (spares.size() < 2 || !spares.stream().allMatch(spare -> Files.exists(sessions.resolve(spare).resolve("session.db")))) {
          assertTrue(System.nanoTime() < deadline, "no spares' files were prepared: " + folders(sessions));
          Thread.sleep(20);
          spares = folders(sessions).stream().filter(id -> !id.equals(first.threadId().toString())).toList();
        }
        ThreadSummary second = registry.<ThreadSummary>askWithStatus(
            reply -> new ThreadRegistry.StartThread("echo", "second", "/work", reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS);
        assertTrue(spares.contains(second.threadId().toString()), "the start took a spare");
        assertEquals(java.util.Set.of("first", "second"),
            threads(system, "tenant-s").stream().map(ThreadSummary::name).collect(java.util.stream.Collectors.toSet()));

        // Unused spares passivate (2 s here) and take their files with them; threads keep theirs.
        deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (folders(sessions).size() > 2) {
          assertTrue(System.nanoTime() < deadline, "spares left files behind: " + folders(sessions));
          Thread.sleep(100);
        }
        assertEquals(java.util.Set.of(first.threadId().toString(), second.threadId().toString()),
            java.util.Set.copyOf(folders(sessions)));
      } finally {
        stop(system);
      }
    }
  }

  private static List<String> folders(Path directory) throws java.io.IOException {
    if (!Files.isDirectory(directory)) {
      return List.of();
    }
    try (var entries = Files.list(directory)) {
      return entries.map(path -> path.getFileName().toString()).toList();
    }
  }

  @Test
  void theRegistryStartsArchivesAndDeletesThreadsAndSeesTheirActivity() throws Exception {
    try (dev.legato.podium.emulator.PodiumEmulator emulator =
             dev.legato.podium.emulator.PodiumEmulator.start(dev.legato.podium.emulator.EmulatorSettings.defaults())) {
      ActorSystem<Void> system = node(emulator.baseUrl());
      try {
        EntityRef<ThreadRegistry.Command> registry = registry(system, "tenant-c");
        ThreadSummary started = registry.<ThreadSummary>askWithStatus(
            reply -> new ThreadRegistry.StartThread("echo", "greeting", "/work", reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS);
        assertEquals("greeting", started.name());
        long started0 = System.nanoTime();
        while (emulator.instances().size() != 1) { // the instance is created right after the start is answered
          assertTrue(System.nanoTime() - started0 < TIMEOUT.toNanos(), "the thread never started its agent");
          Thread.sleep(20);
        }

        EntityRef<dev.legato.thread.ThreadCommand> thread = ClusterSharding.get(system)
            .entityRefFor(dev.legato.thread.ThreadEntity.TYPE_KEY, started.threadId().toString());
        thread.<dev.legato.thread.ThreadCommand.TurnAccepted>askWithStatus(
            reply -> new dev.legato.thread.ThreadCommand.StartTurn("say hello to the registry", reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!threads(system, "tenant-c").get(0).preview().equals("say hello to the registry")) {
          assertTrue(System.nanoTime() < deadline, "the registry never saw the turn");
          Thread.sleep(50);
        }

        ThreadSummary archived = awaitTurnEndThen(() -> registry.<ThreadSummary>askWithStatus(
            reply -> new ThreadRegistry.ArchiveThread(started.threadId(), true, reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS));
        assertTrue(archived.archived());

        registry.<org.apache.pekko.Done>askWithStatus(reply -> new ThreadRegistry.DeleteThread(started.threadId(), reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS);
        assertEquals(List.of(), threads(system, "tenant-c"));
        assertTrue(!Files.exists(dataDir.resolve("sessions").resolve(started.threadId().toString())), "its files are gone");
      } finally {
        stop(system);
      }
    }
  }

  @Test
  void aForkNamesItsSourceAndTurnAndReadsWhatItCopiesFromTheSource() throws Exception {
    try (dev.legato.podium.emulator.PodiumEmulator emulator =
             dev.legato.podium.emulator.PodiumEmulator.start(dev.legato.podium.emulator.EmulatorSettings.defaults())) {
      ActorSystem<Void> system = node(emulator.baseUrl());
      try {
        EntityRef<ThreadRegistry.Command> registry = registry(system, "tenant-f");
        UUID source = registry.<ThreadSummary>askWithStatus(
                reply -> new ThreadRegistry.StartThread("echo", "harbour", "/work", reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS).threadId();
        String first = turn(system, source, "plan the harbour");
        turn(system, source, "light the second lamp");

        ThreadSummary fork = registry.<ThreadSummary>askWithStatus(reply -> new ThreadRegistry.StartThread("echo",
                "fork", "/work", new dev.legato.thread.ThreadCommand.ForkOf(source, first), reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS);
        assertEquals("plan the harbour", fork.preview(), "a fork's preview is the first prompt it continues");
        List<dev.legato.thread.ThreadEvent> copied = read(system, fork.threadId()).history().stream()
            .map(dev.legato.thread.ThreadUpdate.Persisted::event).toList();
        assertTrue(copied.get(0) instanceof dev.legato.thread.ThreadEvent.ThreadCreated, copied.toString());
        List<String> prompts = copied.stream().filter(e -> e instanceof dev.legato.thread.ThreadEvent.TurnStarted)
            .map(e -> ((dev.legato.thread.ThreadEvent.TurnStarted) e).text()).toList();
        assertEquals(List.of("plan the harbour"), prompts, "the source's turns through the one named: " + copied);
        assertTrue(copied.get(copied.size() - 1) instanceof dev.legato.thread.ThreadEvent.TurnEnded, copied.toString());

        java.util.Set<UUID> listed = threads(system, "tenant-f").stream().map(ThreadSummary::threadId)
            .collect(java.util.stream.Collectors.toSet());
        for (var forkOf : List.of(new dev.legato.thread.ThreadCommand.ForkOf(source, "turn_nope"),
            new dev.legato.thread.ThreadCommand.ForkOf(UUID.randomUUID(), null))) {
          java.util.concurrent.ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(
              java.util.concurrent.ExecutionException.class, () -> registry.<ThreadSummary>askWithStatus(
                  reply -> new ThreadRegistry.StartThread("echo", "bad fork", "/work", forkOf, reply), TIMEOUT)
                  .toCompletableFuture().get(15, TimeUnit.SECONDS));
          String reason = refused.getCause().getMessage();
          assertTrue(forkOf.lastTurnId() != null ? reason.equals("invalid params: the thread has no turn turn_nope")
              : reason.contains("has not been started"), reason);
          assertEquals(listed, threads(system, "tenant-f").stream().map(ThreadSummary::threadId)
              .collect(java.util.stream.Collectors.toSet()), "a fork that cannot read its source creates nothing");
        }
      } finally {
        stop(system);
      }
    }
  }

  @Test
  void aCopyOfAStartIsAnsweredWithTheThreadTheFirstStartedEvenAfterARestart() throws Exception {
    try (dev.legato.podium.emulator.PodiumEmulator emulator =
             dev.legato.podium.emulator.PodiumEmulator.start(dev.legato.podium.emulator.EmulatorSettings.defaults())) {
      UUID started;
      ActorSystem<Void> system = node(emulator.baseUrl());
      try {
        EntityRef<ThreadRegistry.Command> registry = registry(system, "tenant-d");
        // two copies under way at once, a third after the first was answered
        List<java.util.concurrent.CompletableFuture<ThreadSummary>> copies = new java.util.ArrayList<>();
        for (int i = 0; i < 2; i++) {
          copies.add(registry.<ThreadSummary>askWithStatus(
              reply -> new ThreadRegistry.StartThread("echo", "once", "/work", null, "request-1", reply), TIMEOUT)
              .toCompletableFuture());
        }
        started = copies.get(0).get(15, TimeUnit.SECONDS).threadId();
        assertEquals(started, copies.get(1).get(15, TimeUnit.SECONDS).threadId(), "a copy under way");
        assertEquals(started, registry.<ThreadSummary>askWithStatus(
                reply -> new ThreadRegistry.StartThread("echo", "once", "/work", null, "request-1", reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS).threadId(), "a copy of a start answered before");
        UUID other = registry.<ThreadSummary>askWithStatus(
                reply -> new ThreadRegistry.StartThread("echo", "twice", "/work", null, "request-2", reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS).threadId();
        assertTrue(!other.equals(started), "another request starts another thread");
        assertEquals(2, threads(system, "tenant-d").size());
      } finally {
        stop(system);
      }
      ActorSystem<Void> restarted = node(emulator.baseUrl());
      try {
        assertEquals(started, registry(restarted, "tenant-d").<ThreadSummary>askWithStatus(
                reply -> new ThreadRegistry.StartThread("echo", "once", "/work", null, "request-1", reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS).threadId(), "the registry remembers its starts");
        assertEquals(2, threads(restarted, "tenant-d").size());
      } finally {
        stop(restarted);
      }
    }
  }

  @Test
  void aRegistryHandingOffRecordsTheStartUnderWayFirstAndRefusesNewRequestsAsMoving() throws Exception {
    try (dev.legato.podium.emulator.PodiumEmulator emulator =
             dev.legato.podium.emulator.PodiumEmulator.start(dev.legato.podium.emulator.EmulatorSettings.defaults())) {
      ActorSystem<Void> system = node(emulator.baseUrl());
      try {
        EntityRef<ThreadRegistry.Command> registry = registry(system, "tenant-h");
        assertEquals(List.of(), threads(system, "tenant-h")); // the registry runs
        var start = registry.<ThreadSummary>askWithStatus(
            reply -> new ThreadRegistry.StartThread("echo", "under way", "/work", reply), TIMEOUT).toCompletableFuture();
        registry.tell(new ThreadRegistry.HandOff()); // as its shard does when it moves
        var during = registry.<ThreadSummary>askWithStatus(
            reply -> new ThreadRegistry.Get(UUID.randomUUID(), reply), TIMEOUT).toCompletableFuture();
        ThreadSummary thread = start.get(15, TimeUnit.SECONDS); // recorded, not refused
        java.util.concurrent.ExecutionException moving = org.junit.jupiter.api.Assertions.assertThrows(
            java.util.concurrent.ExecutionException.class, () -> during.get(15, TimeUnit.SECONDS));
        assertEquals(ThreadRegistry.MOVING, moving.getCause().getMessage());
        // the registry stopped once its journal was shipped; the next request recovers it, the start listed
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        List<ThreadSummary> listed = null;
        while (listed == null) {
          try {
            listed = threads(system, "tenant-h");
          } catch (java.util.concurrent.ExecutionException refused) {
            assertEquals(ThreadRegistry.MOVING, refused.getCause().getMessage());
            assertTrue(System.nanoTime() < deadline, "the registry never came back");
            Thread.sleep(50);
          }
        }
        assertEquals(List.of(thread.threadId()), listed.stream().map(ThreadSummary::threadId).toList());
      } finally {
        stop(system);
      }
    }
  }

  /** Runs a turn of the echo agent to its end; its id. */
  private static String turn(ActorSystem<?> system, UUID threadId, String text) throws Exception {
    String turnId = ClusterSharding.get(system).entityRefFor(dev.legato.thread.ThreadEntity.TYPE_KEY, threadId.toString())
        .<dev.legato.thread.ThreadCommand.TurnAccepted>askWithStatus(
            reply -> new dev.legato.thread.ThreadCommand.StartTurn(text, reply), TIMEOUT)
        .toCompletableFuture().get(15, TimeUnit.SECONDS).turnId();
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (read(system, threadId).history().stream().noneMatch(p ->
        p.event() instanceof dev.legato.thread.ThreadEvent.TurnEnded ended && ended.turnId().equals(turnId))) {
      assertTrue(System.nanoTime() < deadline, "turn " + turnId + " never ended");
      Thread.sleep(50);
    }
    return turnId;
  }

  private static dev.legato.thread.ThreadCommand.Resumed read(ActorSystem<?> system, UUID threadId) throws Exception {
    return ClusterSharding.get(system).entityRefFor(dev.legato.thread.ThreadEntity.TYPE_KEY, threadId.toString())
        .<dev.legato.thread.ThreadCommand.Resumed>askWithStatus(dev.legato.thread.ThreadCommand.Read::new, TIMEOUT)
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
  }

  @Test
  void sparesLeftByAStopOrACrashAreRemovedAtStartAndThreadsWithHistoryStay(@TempDir Path crashImage) throws Exception {
    try (dev.legato.podium.emulator.PodiumEmulator emulator =
             dev.legato.podium.emulator.PodiumEmulator.start(dev.legato.podium.emulator.EmulatorSettings.defaults())) {
      Map<String, String> neverPassivate = Map.of("legato.thread.passivate-after", "1h");
      Path sessions = dataDir.resolve("sessions");
      UUID listed;
      UUID unlisted = UUID.randomUUID();
      ActorSystem<Void> system = node(dataDir, emulator.baseUrl(), neverPassivate);
      try {
        listed = registry(system, "tenant-r").<ThreadSummary>askWithStatus(
                reply -> new ThreadRegistry.StartThread("echo", "kept", "/work", reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS).threadId();
        // Created but never registered, as after a crash between the thread's first event and the registry's.
        ClusterSharding.get(system).entityRefFor(dev.legato.thread.ThreadEntity.TYPE_KEY, unlisted.toString())
            .<dev.legato.thread.ThreadCommand.Created>askWithStatus(
                reply -> new dev.legato.thread.ThreadCommand.Create("echo", "/work", null, reply), TIMEOUT)
            .toCompletableFuture().get(15, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (folders(sessions).size() < 4) { // two threads and two spares (legato.registry.spare-threads)
          assertTrue(System.nanoTime() < deadline, "no spares were prepared: " + folders(sessions));
          Thread.sleep(20);
        }
        Thread.sleep(200); // the spares' files are open and claimed
        copyTree(dataDir, crashImage); // the files as a process killed now leaves them: open, WAL not checkpointed
      } finally {
        // a stop: the spares' shards hand them off, which removes their folders as a passivation would (should
        // the stop cut that short, the next start removes what is left, as it does after the crash below)
        stop(system);
      }
      java.util.Set<String> threads = java.util.Set.of(listed.toString(), unlisted.toString());
      assertTrue(folders(sessions).containsAll(threads), "a stop keeps the threads' folders: " + folders(sessions));
      assertEquals(4, folders(crashImage.resolve("sessions")).size(), "a crash leaves the spares' folders");

      for (Path data : List.of(dataDir, crashImage)) {
        ActorSystem<Void> restarted = node(data, emulator.baseUrl(), neverPassivate);
        try {
          Path folder = data.resolve("sessions");
          long deadline = System.nanoTime() + TIMEOUT.toNanos();
          while (folders(folder).size() > 2) {
            assertTrue(System.nanoTime() < deadline, "spares outlived a restart on " + data + ": " + folders(folder));
            Thread.sleep(50);
          }
          assertEquals(threads, java.util.Set.copyOf(folders(folder)));
          assertEquals(List.of(listed), threads(restarted, "tenant-r").stream().map(ThreadSummary::threadId).toList());
          for (String id : threads) {
            dev.legato.thread.ThreadCommand.Resumed read = ClusterSharding.get(restarted)
                .entityRefFor(dev.legato.thread.ThreadEntity.TYPE_KEY, id)
                .<dev.legato.thread.ThreadCommand.Resumed>askWithStatus(dev.legato.thread.ThreadCommand.Read::new, TIMEOUT)
                .toCompletableFuture().get(15, TimeUnit.SECONDS);
            assertTrue(read.history().get(0).event() instanceof dev.legato.thread.ThreadEvent.ThreadCreated,
                "thread " + id + " kept its history: " + read.history());
          }
        } finally {
          stop(restarted);
        }
      }
    }
  }

  private static void copyTree(Path from, Path to) throws java.io.IOException {
    try (var paths = Files.walk(from)) {
      for (Path path : paths.toList()) {
        Path target = to.resolve(from.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(target);
        } else {
          Files.copy(path, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  /** Archiving is refused while the turn still runs: try until the echo turn has ended. */
  static <T> T awaitTurnEndThen(java.util.concurrent.Callable<T> call) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      try {
        return call.call();
      } catch (java.util.concurrent.ExecutionException busy) {
        assertTrue(System.nanoTime() < deadline, "still refused: " + busy.getCause());
        Thread.sleep(50);
      }
    }
  }
}
