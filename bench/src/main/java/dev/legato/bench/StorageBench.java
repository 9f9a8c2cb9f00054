package dev.legato.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * Events/s through the SQLite journal the way Legato persists: event-sourced actors, each alternating a
 * single {@code persist} with a small {@code persistAll} batch, for 1, 100 and 1,000 persistenceIds at
 * once. The baseline writes the same rows in the same transaction shapes with raw sqlite-jdbc into the
 * same number of files with the plugin's SQLite settings, one thread per core, and no actors.
 */
final class StorageBench {
  /** Events per persistAll; a single persist alternates with it, so a write carries 2.5 events on average. */
  private static final int BATCH = 4;

  private StorageBench() {}

  static void run(BenchOptions options) throws Exception {
    List<Integer> idCounts = options.integers("ids", List.of(1, 100, 1000));
    double seconds = options.decimal("seconds", 10);
    double warmup = options.decimal("warmup", 5);
    int eventBytes = options.integer("event-bytes", 200);
    // another plugin (e.g. pekko.persistence.journal.inmem) shows what the actors cost without SQLite
    String journalPlugin = options.text("journal", "legato.storage.journal");
    boolean withBaseline = Boolean.parseBoolean(options.text("baseline", "true"));
    System.out.printf("storage benchmark: %d-byte events, persist and persistAll(%d) alternating, "
        + "%.0fs warm-up + %.0fs measured per case, %d cores%n", eventBytes, BATCH, warmup, seconds,
        Runtime.getRuntime().availableProcessors());
    List<String> results = new ArrayList<>();
    // Removed only after the RESULT lines are out: a slow machine may still be closing databases in them.
    List<Path> scratch = new ArrayList<>();
    try {
      for (int ids : idCounts) {
        double journal = journalCase(ids, eventBytes, warmup, seconds, journalPlugin, scratch);
        double baseline = withBaseline ? baselineCase(ids, eventBytes, warmup, seconds, scratch) : Double.NaN;
        System.out.printf("  ids=%d: journal %,.0f events/s, raw sqlite-jdbc %,.0f rows/s%n", ids, journal, baseline);
        results.add(String.format("RESULT storage ids=%d events_per_s=%.0f baseline_per_s=%.0f ratio=%.2f",
            ids, journal, baseline, journal / baseline));
      }
    } finally {
      results.forEach(System.out::println); // also those measured before a later case failed
      scratch.forEach(Teardown::remove);
    }
  }

  // ---- through the plugin ------------------------------------------------------------------------------

  private static double journalCase(int ids, int eventBytes, double warmup, double seconds, String journalPlugin,
                                    List<Path> scratch) throws Exception {
    Path dataDir = Files.createTempDirectory("legato-bench-storage");
    scratch.add(dataDir);
    Config config = ConfigFactory.parseString("""
            pekko.persistence.journal.plugin = "%s"
            pekko.persistence.snapshot-store.plugin = "legato.storage.snapshot"
            pekko.loglevel = WARNING
            """.formatted(journalPlugin))
        .withFallback(ConfigFactory.parseMap(java.util.Map.of("legato.storage.data-dir", dataDir.toString())))
        .withFallback(BenchOptions.config());
    LongAdder events = new LongAdder();
    Control control = new Control();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(context -> {
      for (int i = 0; i < ids; i++) {
        ActorRef<Writer.Command> writer = context.spawn(
            Writer.create(PersistenceId.of("Bench", "writer-" + i), new byte[eventBytes], events, control), "writer-" + i);
        writer.tell(Writer.Next.INSTANCE);
      }
      return Behaviors.empty();
    }), "storage-bench", config);
    try {
      return measure(events, warmup, seconds);
    } finally {
      control.stopped = true;
      Teardown.terminate(system);
    }
  }

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

  // ---- raw sqlite-jdbc -----------------------------------------------------------------------------------

  private static double baselineCase(int ids, int eventBytes, double warmup, double seconds, List<Path> scratch)
      throws Exception {
    Path dir = Files.createTempDirectory("legato-bench-baseline");
    scratch.add(dir);
    int threads = Math.min(ids, Runtime.getRuntime().availableProcessors());
    LongAdder rows = new LongAdder();
    Control control = new Control();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int t = 0; t < threads; t++) {
        int first = t;
        pool.submit(() -> {
          List<Connection> files = new ArrayList<>();
          List<PreparedStatement> inserts = new ArrayList<>();
          long[] next = new long[ids];
          try {
            for (int f = first; f < ids; f += threads) {
              Path file = dir.resolve("f" + f + ".db");
              Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
              try (Statement s = c.createStatement()) {
                // the same settings the plugin uses
                s.execute("PRAGMA locking_mode = EXCLUSIVE");
                s.execute("PRAGMA journal_mode = WAL");
                s.execute("PRAGMA synchronous = NORMAL");
                s.execute("CREATE TABLE journal (seq INTEGER PRIMARY KEY, written_at INTEGER NOT NULL, "
                    + "writer_uuid TEXT NOT NULL, payload BLOB NOT NULL)");
              }
              c.setAutoCommit(false);
              files.add(c);
              inserts.add(c.prepareStatement("INSERT INTO journal VALUES (?, ?, ?, ?)"));
            }
            byte[] payload = new byte[eventBytes];
            ThreadLocalRandom.current().nextBytes(payload);
            int round = 0;
            while (!control.stopped) {
              for (int i = 0; i < files.size() && !control.stopped; i++) {
                int size = round % 2 == 0 ? 1 : BATCH;
                PreparedStatement insert = inserts.get(i);
                for (int k = 0; k < size; k++) {
                  insert.setLong(1, ++next[i]);
                  insert.setLong(2, System.currentTimeMillis());
                  insert.setString(3, "baseline");
                  insert.setBytes(4, payload);
                  insert.addBatch();
                }
                insert.executeBatch();
                files.get(i).commit();
                rows.add(size);
              }
              round++;
            }
          } catch (SQLException e) {
            throw new IllegalStateException(e);
          } finally {
            for (Connection c : files) {
              try {
                c.close();
              } catch (SQLException ignored) {
                // benchmark teardown
              }
            }
          }
          return null;
        });
      }
      return measure(rows, warmup, seconds);
    } finally {
      control.stopped = true;
      pool.shutdown();
      pool.awaitTermination(60, TimeUnit.SECONDS);
    }
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private static double measure(LongAdder counter, double warmup, double seconds) throws InterruptedException {
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
}
