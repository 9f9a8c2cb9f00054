package dev.legato.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
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
   * Starts {@code ids} Writers persisting {@code event} in a new actor system and returns their events/s over
   * {@code seconds} after {@code warmup}. {@code measured} sees the system right after the measured window,
   * while the writers still run; then the system terminates.
   */
  static double run(String systemName, Config config, int ids, byte[] event, double warmup, double seconds,
                    Consumer<ActorSystem<?>> measured) throws InterruptedException {
    LongAdder events = new LongAdder();
    Control control = new Control();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(context -> {
      for (int i = 0; i < ids; i++) {
        ActorRef<Writer.Command> writer = context.spawn(
            Writer.create(PersistenceId.of("Bench", "writer-" + i), event, events, control), "writer-" + i);
        writer.tell(Writer.Next.INSTANCE);
      }
      return Behaviors.empty();
    }), systemName, config);
    try {
      double eventsPerSecond = measure(events, warmup, seconds);
      measured.accept(system);
      return eventsPerSecond;
    } finally {
      control.stopped = true;
      Teardown.terminate(system);
    }
  }

  /** Sleeps through {@code warmup}, then returns how fast {@code counter} grows over {@code seconds}. */
  static double measure(LongAdder counter, double warmup, double seconds) throws InterruptedException {
    Thread.sleep((long) (warmup * 1000));
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

  /** Tells the writers to stop persisting. */
  static final class Control {
    volatile boolean stopped;
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
