package dev.legato.bench;

import com.typesafe.config.ConfigFactory;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import dev.legato.thread.ThreadEntity;
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
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * Threads at the actor level: N ThreadEntities on the emulator's {@code load} agent, each running turn
 * after turn, every delta delivered to a subscriber; then the heap an idle (connected, quiet) thread costs. Journal: the SQLite plugin; emulator in the same JVM.
 */
final class ThreadsBench {
  private ThreadsBench() {}

  static void run(BenchOptions options) throws Exception {
    int n = options.integer("threads", 1000);
    int deltasPerTurn = options.integer("deltas-per-turn", 1000);
    double seconds = options.decimal("seconds", 10);
    int idle = options.integer("idle-threads", 1000);
    Path dataDir = Files.createTempDirectory("legato-bench-threads");
    try (PodiumEmulator emulator = PodiumEmulator.start(EmulatorSettings.defaults())) {
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "threads-bench", ConfigFactory.parseMap(Map.of(
              "legato.storage.data-dir", dataDir.toString(), "legato.podium.url", emulator.baseUrl()))
          .withFallback(ConfigFactory.parseString("""
              pekko.loglevel = WARNING
              pekko.persistence.journal.plugin = "legato.storage.journal"
              pekko.persistence.snapshot-store.plugin = "legato.storage.snapshot"
              legato.thread.passivate-after = 1h
              """))
          .withFallback(ConfigFactory.load()));
      try {
        System.out.printf("threads benchmark: %d threads on the load agent, %d deltas a turn, %.0fs; %d cores%n",
            n, deltasPerTurn, seconds, Runtime.getRuntime().availableProcessors());
        long before = usedHeap();
        create(system, idle, "echo"); // connected, quiet
        Thread.sleep(2000);
        long idleBytes = (usedHeap() - before) / idle;
        System.out.printf("  heap: %.1f KB per idle thread (entity, link, WebSocket and journal file open; measured first)%n",
            idleBytes / 1024.0);
        LongAdder deltas = new LongAdder();
        LongAdder turns = new LongAdder();
        AtomicBoolean running = new AtomicBoolean(true);
        List<ActorRef<ThreadEntity.Command>> threads = create(system, n, "load");
        String text = deltasPerTurn + " 16";
        for (ActorRef<ThreadEntity.Command> thread : threads) {
          ActorRef<ThreadEntity.ThreadUpdate> subscriber = system.systemActorOf(
              driver(thread, text, deltas, turns, running), "driver-" + UUID.randomUUID(), Props.empty());
          AskPattern.<ThreadEntity.Command, StatusReply<org.apache.pekko.Done>>ask(thread,
              reply -> new ThreadEntity.Subscribe(subscriber, null, reply), Duration.ofSeconds(30), system.scheduler())
              .toCompletableFuture().get(30, TimeUnit.SECONDS);
          thread.tell(new ThreadEntity.StartTurn(text, system.ignoreRef()));
        }
        Thread.sleep(3000); // warm-up
        long startDeltas = deltas.sum();
        long startTurns = turns.sum();
        long start = System.nanoTime();
        Thread.sleep((long) (seconds * 1000));
        double elapsed = (System.nanoTime() - start) / 1e9;
        double deltaRate = (deltas.sum() - startDeltas) / elapsed;
        double turnRate = (turns.sum() - startTurns) / elapsed;
        running.set(false);
        Thread.sleep(2000);
        System.out.printf("  %,.0f deltas/s to subscribers, %,.0f turns/s (each persisting its whole message and end)%n",
            deltaRate, turnRate);

        System.out.printf("RESULT threads n=%d deltas_per_s=%.0f heap_per_idle_thread_kb=%.1f%n", n, deltaRate, idleBytes / 1024.0);
      } finally {
        org.apache.pekko.http.javadsl.Http.get(system).shutdownAllConnectionPools().toCompletableFuture().get(10, TimeUnit.SECONDS);
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
    }
  }

  private static List<ActorRef<ThreadEntity.Command>> create(ActorSystem<Void> system, int count, String agentType)
      throws Exception {
    List<ActorRef<ThreadEntity.Command>> threads = new ArrayList<>();
    List<CompletableFuture<?>> created = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ActorRef<ThreadEntity.Command> thread = system.systemActorOf(ThreadEntity.create(UUID.randomUUID()),
          "thread-" + UUID.randomUUID(), Props.empty());
      threads.add(thread);
      created.add(AskPattern.<ThreadEntity.Command, StatusReply<ThreadEntity.Created>>ask(thread,
          reply -> new ThreadEntity.Create(agentType, null, null, reply), Duration.ofSeconds(60), system.scheduler())
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

  /** Counts deltas and starts the next turn when one ends. */
  private static Behavior<ThreadEntity.ThreadUpdate> driver(ActorRef<ThreadEntity.Command> thread, String text,
                                                            LongAdder deltas, LongAdder turns, AtomicBoolean running) {
    return Behaviors.receive((context, update) -> {
      if (update instanceof ThreadEntity.ThreadUpdate.TextDelta) {
        deltas.increment();
      } else if (update instanceof ThreadEntity.ThreadUpdate.Persisted persisted
          && persisted.event() instanceof ThreadEntity.TurnEnded) {
        turns.increment();
        if (running.get()) {
          thread.tell(new ThreadEntity.StartTurn(text, context.getSystem().ignoreRef()));
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
