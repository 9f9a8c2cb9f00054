package dev.legato.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * The load of the storage benchmarks: event-sourced Writers in one actor system, each persisting as fast as
 * its journal confirms (a single {@code persist} alternating with a {@code persistAll} of {@link #BATCH}),
 * and the events/s they reach in a measured window. The storage and replication scenarios share it, so
 * their figures compare.
 */
final class JournalLoad {
  /** Events per persistAll; a single persist alternates with it, so a write carries 2.5 events on average. */
  static final int BATCH = 4;
  /** How long a run waits for every writer's first write, when it waits. */
  private static final Duration ALL_WRITING_LIMIT = Duration.ofMinutes(5);

  private JournalLoad() {}

  /**
   * The configuration of an actor system persisting through {@code journalPlugin} (the SQLite journal:
   * {@code legato.storage.journal}) and the SQLite snapshot store, with its files in {@code dataDir};
   * {@code overrides} (e.g. {@code legato.storage.replica}) go over it.
   */
  static Config config(String journalPlugin, Path dataDir, Config overrides) {
    return overrides
        .withFallback(ConfigFactory.parseString("""
            pekko.persistence.journal.plugin = "%s"
            pekko.persistence.snapshot-store.plugin = "legato.storage.snapshot"
            pekko.loglevel = WARNING
            """.formatted(journalPlugin)))
        .withFallback(ConfigFactory.parseMap(Map.of("legato.storage.data-dir", dataDir.toString())))
        .withFallback(BenchOptions.config())
        .resolve();
  }

  /**
   * What a run measured: events/s over the window, and how long after the system's start every writer had a
   * write confirmed (NaN when the warm-up did not wait for it).
   */
  record Figures(double eventsPerSecond, double allWritingSeconds) {}

  /**
   * Starts {@code ids} Writers persisting {@code event} in a new actor system and measures their events/s over
   * {@code seconds} after {@code warmup}. With {@code warmupOnceAllWrite}, the warm-up begins only once every
   * writer has had a write confirmed (its files open), so a slow start does not eat into it. {@code measured}
   * sees the system right after the measured window, while the writers still run; then the system terminates.
   */
  static Figures run(String systemName, Config config, int ids, byte[] event, double warmup, double seconds,
                     boolean warmupOnceAllWrite, Consumer<ActorSystem<?>> measured) throws InterruptedException {
    return run(systemName, config, ids, event, warmup, seconds, warmupOnceAllWrite, system -> {}, measured);
  }

  /** {@link #run}, with {@code windowStarts} seeing the system as the measured window begins. */
  static Figures run(String systemName, Config config, int ids, byte[] event, double warmup, double seconds,
                     boolean warmupOnceAllWrite, Consumer<ActorSystem<?>> windowStarts, Consumer<ActorSystem<?>> measured)
      throws InterruptedException {
    LongAdder events = new LongAdder();
    Control control = new Control();
    long start = System.nanoTime();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(context -> {
      for (int i = 0; i < ids; i++) {
        ActorRef<Writer.Command> writer = context.spawn(
            Writer.create(PersistenceId.of("Bench", "writer-" + i), event, events, control), "writer-" + i);
        writer.tell(Writer.Next.INSTANCE);
      }
      return Behaviors.empty();
    }), systemName, config);
    try {
      double allWriting = Double.NaN;
      if (warmupOnceAllWrite) {
        long deadline = start + ALL_WRITING_LIMIT.toNanos();
        while (control.writing.get() < ids) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(control.writing.get() + " of " + ids + " writers had a write confirmed "
                + ALL_WRITING_LIMIT.toMinutes() + " minutes after the start");
          }
          Thread.sleep(10);
        }
        allWriting = (System.nanoTime() - start) / 1e9;
      }
      double eventsPerSecond = measure(events, warmup, seconds, () -> windowStarts.accept(system));
      measured.accept(system);
      return new Figures(eventsPerSecond, allWriting);
    } finally {
      control.stopped = true;
      settle(events);
      Teardown.terminate(system);
    }
  }

  /**
   * Waits (up to 5 s) until the writers' confirmed events stop growing: their writes in flight end before the
   * storage stops, which refuses any write that would reopen a file it closed.
   */
  private static void settle(LongAdder events) throws InterruptedException {
    long deadline = System.nanoTime() + 5_000_000_000L;
    long seen;
    do {
      seen = events.sum();
      Thread.sleep(100);
    } while (events.sum() != seen && System.nanoTime() < deadline);
  }

  /** Sleeps through {@code warmup}, then returns how fast {@code counter} grows over {@code seconds}. */
  static double measure(LongAdder counter, double warmup, double seconds) throws InterruptedException {
    return measure(counter, warmup, seconds, () -> {});
  }

  /** {@link #measure}, with {@code windowStarts} run as the measured window begins. */
  static double measure(LongAdder counter, double warmup, double seconds, Runnable windowStarts) throws InterruptedException {
    Thread.sleep((long) (warmup * 1000));
    windowStarts.run();
    long startCount = counter.sum();
    long start = System.nanoTime();
    StringBuilder perSecond = new StringBuilder();
    long last = startCount;
    for (int s = 0; s < (int) seconds; s++) {
      Thread.sleep(1000);
      long now = counter.sum();
      perSecond.append(' ').append((now - last) / 1000).append('k');
      last = now;
    }
    long count = counter.sum() - startCount;
    if (Boolean.getBoolean("bench.trace")) {
      System.out.println("    per second:" + perSecond);
    }
    return count / ((System.nanoTime() - start) / 1e9);
  }

  /** What the writers share: the switch that stops them, and how many have had a write confirmed. */
  static final class Control {
    volatile boolean stopped;
    final AtomicInteger writing = new AtomicInteger();
  }

  /** Persists as fast as its journal confirms: persist, persistAll(4), persist, … */
  static final class Writer extends EventSourcedBehavior<Writer.Command, byte[], Long> {
    interface Command {}

    enum Next implements Command { INSTANCE }

    static Behavior<Command> create(PersistenceId id, byte[] event, LongAdder events, Control control) {
      return Behaviors.setup(context -> new Writer(id, context.getSelf(), event, events, control));
    }

    private final ActorRef<Command> self;
    private final byte[] event;
    private final List<byte[]> batch;
    private final LongAdder events;
    private final Control control;
    private boolean single = true;
    private boolean wrote;

    private Writer(PersistenceId id, ActorRef<Command> self, byte[] event, LongAdder events, Control control) {
      super(id);
      this.self = self;
      this.event = event;
      this.batch = Collections.nCopies(BATCH, event);
      this.events = events;
      this.control = control;
    }

    @Override
    public Long emptyState() {
      return 0L;
    }

    @Override
    public CommandHandler<Command, byte[], Long> commandHandler() {
      return newCommandHandlerBuilder().forAnyState().onCommand(Next.class, (state, next) -> {
        if (control.stopped) {
          return Effect().none();
        }
        int size = single ? 1 : BATCH;
        single = !single;
        return (size == 1 ? Effect().persist(event) : Effect().persist(batch)).thenRun(after -> {
          events.add(size);
          if (!wrote) {
            wrote = true;
            control.writing.incrementAndGet();
          }
          self.tell(Next.INSTANCE);
        });
      }).build();
    }

    @Override
    public EventHandler<Long, byte[]> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((state, e) -> state + 1);
    }
  }
}
