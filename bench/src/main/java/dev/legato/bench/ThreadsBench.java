package dev.legato.bench;

import com.typesafe.config.ConfigFactory;
import dev.legato.thread.ThreadUpdate;
import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadCommand;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import dev.legato.thread.ThreadEntity;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * Threads at the actor level, journal on SQLite, the emulator in a child JVM (so that the heap measured
 * is Legato's alone). First the heap a thread costs while idle: connected (link open), quiet (after
 * {@code close-link-after} let the link go) and passivated; then N threads on the {@code load} agent running
 * turn after turn, every delta delivered to a subscriber: deltas/s and persisted events/s.
 */
final class ThreadsBench {
  /** Characters of each of the load agent's deltas. */
  static final int DELTA_CHARS = 16;

  private ThreadsBench() {}

  static void run(BenchOptions options) throws Exception {
    int n = options.integer("threads", 1000);
    int deltasPerTurn = options.integer("deltas-per-turn", 1000);
    double seconds = options.decimal("seconds", 10);
    int idle = options.integer("idle-threads", 1000);
    String textWindow = options.text("text-window", null);
    String textWindowBytes = options.text("text-window-bytes", null);
    // Long enough that no thread lets its link go (or passivates) before the last one is created and measured.
    int closeLinkAfter = options.integer("close-link-after-s", 30);
    int passivateAfter = options.integer("passivate-after-s", 60);
    Path dataDir = Files.createTempDirectory("legato-bench-threads");
    boolean childEmulator = !options.text("emulator", "child").equals("embedded");
    Process emulator = childEmulator ? startEmulator() : null;
    PodiumEmulator embedded = childEmulator ? null : PodiumEmulator.start(EmulatorSettings.defaults());
    try {
      String baseUrl = childEmulator ? baseUrl(emulator) : embedded.baseUrl();
      String settings = """
          pekko.loglevel = WARNING
          pekko.persistence.journal.plugin = "legato.storage.journal"
          pekko.persistence.snapshot-store.plugin = "legato.storage.snapshot"
          legato.thread.passivate-after = %ds
          legato.thread.close-link-after = %ds
          """.formatted(passivateAfter, closeLinkAfter)
          + (textWindow == null ? "" : "legato.thread.text-window = " + textWindow + "\n")
          + (textWindowBytes == null ? "" : "legato.thread.text-window-bytes = " + textWindowBytes + "\n");
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "threads-bench", ConfigFactory.parseMap(Map.of(
              "legato.storage.data-dir", dataDir.toString(), "legato.podium.url", baseUrl))
          .withFallback(ConfigFactory.parseString(settings))
          .withFallback(BenchOptions.config()));
      try {
        System.out.printf("threads benchmark: %d threads on the load agent, %d deltas a turn, %.0fs, text window %s;"
                + " %d cores; emulator %s%n", n, deltasPerTurn, seconds,
            system.settings().config().getDuration("legato.thread.text-window").toMillis() + " ms / "
                + system.settings().config().getBytes("legato.thread.text-window-bytes") + " bytes",
            Runtime.getRuntime().availableProcessors(), childEmulator ? "in a child JVM" : "embedded");

        String connectedKb = "n/a";
        String quietKb = "n/a";
        String passivatedKb = "n/a";
        if (idle > 0) {
          // Warm-up: the first threads pay for what every later one shares (pools, caches, classes). They
          // stay subscribed (never passivated) and quiet, so the figures below are what one more thread costs.
          for (ActorRef<ThreadCommand> warm : create(system, 200, "echo")) {
            AskPattern.<ThreadCommand, StatusReply<Done>>ask(warm,
                reply -> new ThreadCommand.Subscribe(system.systemActorOf(Behaviors.<ThreadUpdate>ignore(),
                    "watcher-" + UUID.randomUUID(), Props.empty()), null, reply), Duration.ofSeconds(30), system.scheduler())
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
          }
          Thread.sleep((closeLinkAfter + 3) * 1000L);
          long before = usedHeap();
          long started = System.nanoTime();
          create(system, idle, "echo");
          long created = System.nanoTime();
          if (created - started > TimeUnit.SECONDS.toNanos(closeLinkAfter - 3)) {
            throw new IllegalStateException("creating the idle threads took longer than close-link-after: raise it");
          }
          Thread.sleep(2000);
          connectedKb = kbPerThread(usedHeap() - before, idle);
          sleepUntil(created, closeLinkAfter + 3); // the last thread's link is gone too
          quietKb = kbPerThread(usedHeap() - before, idle);
          sleepUntil(created, passivateAfter + 4); // and the last thread passivated
          passivatedKb = kbPerThread(usedHeap() - before, idle);
          System.out.printf("  heap per idle thread: %s KB connected, %s KB quiet (link closed after %ds),"
              + " %s KB passivated (%d threads)%n", connectedKb, quietKb, closeLinkAfter, passivatedKb, idle);
        } else {
          System.out.println("  heap per idle thread: not measured (--idle-threads 0)");
        }

        LongAdder deltas = new LongAdder();
        LongAdder updates = new LongAdder();
        LongAdder persisted = new LongAdder();
        LongAdder turns = new LongAdder();
        AtomicBoolean running = new AtomicBoolean(true);
        List<ActorRef<ThreadCommand>> threads = create(system, n, "load");
        String text = deltasPerTurn + " " + DELTA_CHARS;
        for (ActorRef<ThreadCommand> thread : threads) {
          ActorRef<ThreadUpdate> subscriber = system.systemActorOf(
              driver(thread, text, deltas, updates, persisted, turns, running), "driver-" + UUID.randomUUID(), Props.empty());
          AskPattern.<ThreadCommand, StatusReply<Done>>ask(thread,
              reply -> new ThreadCommand.Subscribe(subscriber, null, reply), Duration.ofSeconds(30), system.scheduler())
              .toCompletableFuture().get(30, TimeUnit.SECONDS);
          thread.tell(new ThreadCommand.StartTurn(text, system.ignoreRef()));
        }
        Thread.sleep(3000); // warm-up
        long startDeltas = deltas.sum();
        long startUpdates = updates.sum();
        long startPersisted = persisted.sum();
        long startTurns = turns.sum();
        long start = System.nanoTime();
        Thread.sleep((long) (seconds * 1000));
        double elapsed = (System.nanoTime() - start) / 1e9;
        double deltaRate = (deltas.sum() - startDeltas) / elapsed;
        double updateRate = (updates.sum() - startUpdates) / elapsed;
        double persistedRate = (persisted.sum() - startPersisted) / elapsed;
        double turnRate = (turns.sum() - startTurns) / elapsed;
        running.set(false);
        Thread.sleep(2000);
        System.out.printf("  %,.0f deltas/s to subscribers (in %,.0f text updates/s), %,.0f persisted events/s,"
            + " %,.1f turns/s%n", deltaRate, updateRate, persistedRate, turnRate);
        System.out.printf("RESULT threads n=%d deltas_per_s=%.0f persisted_per_s=%.0f heap_per_idle_thread_kb=%s"
            + " heap_per_connected_thread_kb=%s heap_per_passivated_thread_kb=%s%n",
            n, deltaRate, persistedRate, quietKb, connectedKb, passivatedKb);
      } finally {
        org.apache.pekko.http.javadsl.Http.get(system).shutdownAllConnectionPools().toCompletableFuture().get(10, TimeUnit.SECONDS);
        Teardown.terminate(system);
      }
    } finally {
      if (emulator != null) {
        emulator.destroy();
        emulator.waitFor(10, TimeUnit.SECONDS);
      } else {
        embedded.stop();
      }
      Teardown.remove(dataDir);
    }
  }

  /** Heap per thread in KB, one decimal; "n/a" for no threads. */
  static String kbPerThread(long bytes, int threads) {
    return threads == 0 ? "n/a" : String.format("%.1f", bytes / 1024.0 / threads);
  }

  private static Process startEmulator() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new ProcessBuilder(java, "-Xmx1g", "-cp", System.getProperty("java.class.path"),
        "dev.legato.podium.emulator.Main", "--port", "0")
        .redirectError(ProcessBuilder.Redirect.DISCARD) // its log would drown the figures
        .start();
  }

  /** The child's first line says where it listens; the rest of its output is drained. */
  private static String baseUrl(Process emulator) throws Exception {
    BufferedReader lines = new BufferedReader(new InputStreamReader(emulator.getInputStream(), StandardCharsets.UTF_8));
    String first = lines.readLine();
    if (first == null || !first.contains("http://")) {
      throw new IllegalStateException("the emulator did not start: " + first);
    }
    Thread drain = new Thread(() -> lines.lines().forEach(line -> { }), "emulator-output");
    drain.setDaemon(true);
    drain.start();
    return first.substring(first.indexOf("http://")).trim();
  }

  private static void sleepUntil(long startedNanos, int seconds) throws InterruptedException {
    long left = startedNanos + TimeUnit.SECONDS.toNanos(seconds) - System.nanoTime();
    if (left > 0) {
      Thread.sleep(TimeUnit.NANOSECONDS.toMillis(left));
    }
  }

  private static List<ActorRef<ThreadCommand>> create(ActorSystem<Void> system, int count, String agentType)
      throws Exception {
    List<ActorRef<ThreadCommand>> threads = new ArrayList<>();
    List<CompletableFuture<?>> created = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ActorRef<ThreadCommand> thread = system.systemActorOf(ThreadEntity.create(UUID.randomUUID()),
          "thread-" + UUID.randomUUID(), Props.empty());
      threads.add(thread);
      created.add(AskPattern.<ThreadCommand, StatusReply<ThreadCommand.Created>>ask(thread,
          reply -> new ThreadCommand.Create(agentType, null, null, reply), Duration.ofSeconds(60), system.scheduler())
          .thenApply(StatusReply::getValue) // fails the run if a thread could not start
          .toCompletableFuture());
      if (created.size() >= 50) { // a few at a time: each is a REST call and a socket
        CompletableFuture.allOf(created.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        created.clear();
      }
    }
    CompletableFuture.allOf(created.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    return threads;
  }

  /**
   * Counts deltas (by the text received: one update carries a link batch of them), text updates and
   * persisted events, and starts the next turn when one ends.
   */
  private static Behavior<ThreadUpdate> driver(ActorRef<ThreadCommand> thread, String text,
                                                            LongAdder deltas, LongAdder updates, LongAdder persisted,
                                                            LongAdder turns, AtomicBoolean running) {
    DeltaCount count = new DeltaCount(DELTA_CHARS);
    return Behaviors.receive((context, update) -> {
      if (update instanceof ThreadUpdate.TextDelta delta) {
        deltas.add(count.add(delta.text().length()));
        updates.increment();
      } else if (update instanceof ThreadUpdate.Persisted p) {
        persisted.increment();
        if (p.event() instanceof ThreadEvent.TurnEnded) {
          turns.increment();
          if (running.get()) {
            thread.tell(new ThreadCommand.StartTurn(text, context.getSystem().ignoreRef()));
          }
        }
      }
      return Behaviors.same();
    });
  }

  private static long usedHeap() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200);
    }
    Runtime runtime = Runtime.getRuntime();
    return runtime.totalMemory() - runtime.freeMemory();
  }
}
