package dev.legato.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.legato.storage.SessionStorage;
import dev.legato.storage.StorageLayout;
import dev.legato.storage.replica.ReplicaConfig;
import dev.legato.storage.replica.ReplicaTarget;
import dev.legato.storage.replica.Replication;
import dev.legato.storage.replica.Restorer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.typed.PersistenceId;

/**
 * What replicas cost the journal and how fast a thread comes back from one: the storage benchmark's
 * 1,000-writer case ({@link JournalLoad}) with replicas off, async and sync to S3 (s3proxy in this JVM, its
 * objects in memory), the async case's upload lag, and the time to restore a 10 MiB thread
 * database from S3 into a fresh folder. The goals are printed beside the figures; missing one fails nothing.
 */
final class ReplicationBench {
  private static final String JOURNAL = "legato.storage.journal";
  /** The size of the thread database restored, at least. */
  private static final long RESTORE_BYTES = 10L * 1024 * 1024;
  private static final int RESTORES = 3;
  private static final double ASYNC_GOAL = 0.8;
  private static final double SYNC_GOAL = 0.5;
  private static final double RESTORE_GOAL_MS = 1000;
  private static final double LAG_GOAL_MS = 1500;
  /** Threads by what they do, to show where the cores went: s3proxy here stands in for S3 elsewhere. */
  private static final Map<String, Predicate<String>> CPU_GROUPS = cpuGroups();

  private ReplicationBench() {}

  static void run(BenchOptions options) throws Exception {
    int ids = options.integer("ids", 1000);
    double seconds = options.decimal("seconds", 10);
    Config replicaDefaults = BenchOptions.config().getConfig("legato.storage.replica");
    // past a whole flush-interval, so that the window sees the uploads into the files' layouts at their steady
    // rate (the budget's), not the quiet before the first of them come due
    double warmup = options.decimal("warmup", replicaDefaults.getDuration("flush-interval").toSeconds() + 5);
    int eventBytes = options.integer("event-bytes", 200);
    int rounds = Math.max(1, options.integer("rounds", 1));
    // off always runs: the ratios are to it
    List<String> modes = List.of(options.text("modes", "async,sync").split(","));
    // Random bytes: SQLite does not care, but the replica's LZ4 would shrink zeros to nothing and flatter it.
    byte[] event = new byte[eventBytes];
    ThreadLocalRandom.current().nextBytes(event);
    System.out.printf("replication benchmark: %d writers of %d-byte random events, persist and persistAll(%d) "
            + "alternating, %.0fs warm-up + %.0fs measured per mode, %d round(s) of off, async, sync (figures: the"
            + " medians); S3 is s3proxy in this JVM, objects in a scratch folder in memory; sync-interval %s, flush-interval %s,"
            + " layout-uploads %d/s, upload-threads %d; %d cores%n", ids, eventBytes, JournalLoad.BATCH, warmup, seconds,
        rounds, replicaDefaults.getString("sync-interval"), replicaDefaults.getString("flush-interval"),
        replicaDefaults.getInt("layout-uploads"), replicaDefaults.getInt("upload-threads"),
        Runtime.getRuntime().availableProcessors());
    Outcome outcome = new Outcome();
    List<Path> scratch = new ArrayList<>();
    try (EmbeddedS3 s3 = EmbeddedS3.start()) {
      // rounds interleave the modes, so that a slower stretch of a shared machine weighs on all three alike
      List<Double> offs = new ArrayList<>();
      List<Double> asyncs = new ArrayList<>();
      List<Double> syncs = new ArrayList<>();
      List<Double> lags = new ArrayList<>();
      for (int round = 1; round <= rounds; round++) {
        if (rounds > 1) {
          System.out.printf("  round %d of %d%n", round, rounds);
        }
        ModeRun off = throughput("off", round, s3, ids, event, warmup, seconds, scratch);
        offs.add(off.eventsPerSecond());
        off.print(off.eventsPerSecond());
        if (modes.contains("async")) {
          ModeRun async = throughput("async", round, s3, ids, event, warmup, seconds, scratch);
          asyncs.add(async.eventsPerSecond());
          lags.add(async.lag(async.replication().lagP99Millis()));
          async.print(off.eventsPerSecond());
        }
        if (modes.contains("sync")) {
          ModeRun sync = throughput("sync", round, s3, ids, event, warmup, seconds, scratch);
          syncs.add(sync.eventsPerSecond());
          sync.print(off.eventsPerSecond());
        }
      }
      outcome.off = median(offs);
      outcome.async = median(asyncs);
      outcome.sync = median(syncs);
      outcome.lagP99 = median(lags);
      System.out.printf("    (start: until every writer had a write confirmed; a file's first open lists its replica in"
          + " S3. Lag: from a capture of the log to its segment stored (in the node's log), over the last 1,024; in"
          + " async mode a commit waits up to sync-interval for its capture on top. Waiting: captured, not yet in its"
          + " file's own replica (stored segments wait up to flush-interval, %s). CPU: by groups of this JVM's threads;"
          + " GC, JIT, VM and ended threads: the process's CPU beyond its live Java threads, split by the JVM's own"
          + " threads where Linux tells them)%n", replicaDefaults.getString("flush-interval"));

      outcome.restoreMillis = restore(s3, event, scratch);
    } finally {
      scratch.forEach(Teardown::remove);
      outcome.print();
    }
  }

  // ---- events/s with replicas off, async and sync --------------------------------------------------------

  private static Map<String, Predicate<String>> cpuGroups() {
    Map<String, Predicate<String>> groups = new LinkedHashMap<>();
    groups.put("s3proxy", name -> name.startsWith("S3Proxy"));
    groups.put("replica uploads", name -> name.startsWith("legato-replica-"));
    groups.put("storage writers", name -> name.contains("-legato-storage-"));
    groups.put("actors and journal", name -> name.startsWith("replication-bench-"));
    return groups;
  }

  /**
   * The storage benchmark's journal case in one replica mode, its warm-up from when every writer is writing,
   * with the replication's figures and the CPU used, both taken right after the measured window.
   */
  private static ModeRun throughput(String mode, int round, EmbeddedS3 s3, int ids, byte[] event, double warmup,
                                    double seconds, List<Path> scratch) throws Exception {
    Path dataDir = Files.createTempDirectory("legato-bench-replication-" + mode);
    scratch.add(dataDir);
    // each mode has a prefix of its own: the same writer ids would otherwise find the last mode's replica newer
    // than their fresh files and restore it before writing
    String prefix = mode + "-" + round;
    Config replica = mode.equals("off") ? replicaMode("off") : replicaMode(mode).withFallback(s3.replicaTarget(prefix));
    AtomicReference<Replication.Figures> replication = new AtomicReference<>();
    AtomicReference<Map<String, Double>> cpu = new AtomicReference<>();
    // the CPU of the measured window only: a file's first open (a LIST, a snapshot) is the start's, not the load's
    AtomicReference<ThreadCpu> before = new AtomicReference<>();
    AtomicReference<Replication.Figures> replicationBefore = new AtomicReference<>();
    AtomicLong windowStart = new AtomicLong();
    AtomicLong windowEnd = new AtomicLong();
    JournalLoad.Figures load = JournalLoad.run("replication-bench-" + mode, JournalLoad.config(JOURNAL, dataDir, replica),
        ids, event, warmup, seconds, true, system -> {
          SessionStorage.get(system).replication().ifPresent(r -> replicationBefore.set(r.figures()));
          before.set(ThreadCpu.now());
          windowStart.set(System.nanoTime());
        }, system -> {
          windowEnd.set(System.nanoTime());
          cpu.set(ThreadCpu.now().since(before.get(), CPU_GROUPS));
          SessionStorage.get(system).replication().ifPresent(r -> replication.set(r.figures()));
        });
    if (!mode.equals("off")) {
      forget(s3, prefix); // the store keeps its objects in memory: the next rounds need the room
    }
    // and the files go now: left until the end, the kernel writes their dirty pages back under the next runs (off
    // fell from 88k to 67k events/s over three rounds while they stayed)
    Teardown.remove(dataDir);
    scratch.remove(dataDir);
    return new ModeRun(mode, load, replicationBefore.get(), replication.get(), cpu.get(),
        (windowEnd.get() - windowStart.get()) / 1e9);
  }

  /** Removes every object under {@code prefix} from the store. */
  private static void forget(EmbeddedS3 s3, String prefix) throws Exception {
    Config config = s3.replicaTarget(prefix).withFallback(BenchOptions.config()).getConfig("legato.storage.replica");
    try (ReplicaTarget target = ReplicaConfig.target(config, Path.of("."))) {
      List<String> keys = target.list("").stream().map(ReplicaTarget.Entry::key).toList();
      for (int i = 0; i < keys.size(); i += 1000) {
        target.delete(keys.subList(i, Math.min(keys.size(), i + 1000)));
      }
    }
  }

  /** The median of what was measured (NaN when nothing was). */
  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().filter(v -> !v.isNaN()).sorted().toList();
    return sorted.isEmpty() ? Double.NaN : sorted.get(sorted.size() / 2);
  }

  private static Config replicaMode(String mode) {
    return ConfigFactory.parseMap(Map.of("legato.storage.replica.mode", mode));
  }

  /**
   * One mode's figures: the load's, the replication's as the measured window began and as it ended (null when
   * off), and the CPU seconds by group over the window's {@code seconds}.
   */
  private record ModeRun(String mode, JournalLoad.Figures load, Replication.Figures replicationBefore,
                         Replication.Figures replication, Map<String, Double> cpu, double seconds) {
    double eventsPerSecond() {
      return load.eventsPerSecond();
    }

    /** A lag figure, NaN when nothing was uploaded (the replication then reports 0). */
    double lag(double millis) {
      return replication.objectsShipped() == 0 ? Double.NaN : millis;
    }

    void print(double off) {
      String indent = " ".repeat(18);
      System.out.printf("  replicas %-6s%,9.0f events/s%s; start %.1f s%n", mode + ":", eventsPerSecond(),
          mode.equals("off") ? "" : " (%.2fx off)".formatted(eventsPerSecond() / off), load.allWritingSeconds());
      if (replication != null) {
        long objects = replication.objectsShipped() - replicationBefore.objectsShipped();
        long bytes = replication.bytesShipped() - replicationBefore.bytesShipped();
        System.out.printf("%sin the window: %,.0f MB in %,d objects (%,.0f/s); %,.1f MB waiting at its end, %d failed "
                + "uploads since the start; lag p50 %,.0f ms, p99 %,.0f ms%n", indent, bytes / 1e6, objects,
            objects / seconds, replication.backlogBytes() / 1e6, replication.failures(), lag(replication.lagP50Millis()),
            lag(replication.lagP99Millis()));
      }
      StringBuilder split = new StringBuilder();
      double used = cpu.values().stream().mapToDouble(Double::doubleValue).sum();
      cpu.forEach((group, seconds) -> split.append(split.length() == 0 ? "" : ", ").append("%s %.1f s".formatted(group, seconds)));
      System.out.printf("%sCPU in the window (%.0f s, %d cores; %.0f%% of them): %s%n", indent, seconds,
          Runtime.getRuntime().availableProcessors(), 100 * used / (seconds * Runtime.getRuntime().availableProcessors()),
          split);
    }
  }

  // ---- restoring a 10 MiB thread -------------------------------------------------------------------------

  /**
   * Writes a thread of {@link #RESTORE_BYTES} through the journal with async replicas to S3 and waits for its
   * replica to catch up, then restores it {@link #RESTORES} times into fresh folders and returns the median
   * time. Each restore must be complete, pass SQLite's integrity check and hold the local file's events.
   */
  private static double restore(EmbeddedS3 s3, byte[] event, List<Path> scratch) throws Exception {
    Path dataDir = Files.createTempDirectory("legato-bench-replication-restore");
    scratch.add(dataDir);
    Config config = JournalLoad.config(JOURNAL, dataDir, replicaMode("async").withFallback(s3.replicaTarget("restore")));
    UUID threadId = UUID.randomUUID();
    StorageLayout layout = new StorageLayout(dataDir);
    Path database = layout.threadDirectory(threadId).resolve(StorageLayout.SESSION_FILE);
    String root = layout.replicaRoot(database);
    writeThread(config, threadId, database, event);
    long size = Files.size(database);
    long events = journalRows(database);

    List<Double> millis = new ArrayList<>();
    Restorer.Result last = null;
    // a target of its own, as a node restoring the thread would have; the first restore pays its warm-up
    try (ReplicaTarget target = ReplicaConfig.target(config.getConfig("legato.storage.replica"), dataDir)) {
      for (int i = 0; i < RESTORES; i++) {
        Path fresh = Files.createTempDirectory("legato-bench-restored");
        scratch.add(fresh);
        Path output = fresh.resolve(StorageLayout.SESSION_FILE);
        long start = System.nanoTime();
        last = Restorer.restoreInto(target, root, null, null, output);
        millis.add((System.nanoTime() - start) / 1e6);
        if (!last.complete()) {
          throw new IllegalStateException("the restore of " + root + " is incomplete: " + last.problem());
        }
        if (!"ok".equals(last.integrity())) {
          throw new IllegalStateException("the restored " + root + " fails SQLite's integrity check: " + last.integrity());
        }
        long restored = journalRows(output);
        if (restored != events) {
          throw new IllegalStateException("the restored " + root + " holds " + restored + " events, the local file " + events);
        }
      }
    }
    List<Double> sorted = new ArrayList<>(millis);
    sorted.sort(null);
    double median = sorted.get(RESTORES / 2);
    System.out.printf("  restore of a %.1f MiB thread database (%,d events) from S3 into a fresh folder: %,.0f ms, "
            + "median of %d (%s ms); objects applied: %d; complete, integrity ok, every event there%n",
        size / (1024.0 * 1024), events, median, RESTORES,
        String.join(", ", millis.stream().map(m -> String.format("%,.0f", m)).toList()), last.objects());
    return median;
  }

  /**
   * Persists {@code event} as one thread (persistenceId {@code Thread|<id>}, so its file is
   * {@code sessions/<id>/session.db}) until its session.db holds at least {@link #RESTORE_BYTES}, then waits
   * for its replica to store everything. The file's size shows only once it is closed (until then its newest
   * pages are in the log), so the thread is written in rounds, each closing the file and sized from the bytes
   * per event seen so far.
   */
  private static void writeThread(Config config, UUID threadId, Path database, byte[] event) throws Exception {
    String persistenceId = StorageLayout.threadPersistenceId(threadId);
    LongAdder events = new LongAdder();
    JournalLoad.Control control = new JournalLoad.Control();
    ActorSystem<JournalLoad.Writer.Command> system = ActorSystem.create(
        JournalLoad.Writer.create(PersistenceId.ofUniqueId(persistenceId), event, events, control),
        "replication-bench-restore", config);
    try {
      SessionStorage storage = SessionStorage.get(system);
      long wanted = RESTORE_BYTES / event.length / 2; // the payload alone of half the file: surely short of it
      for (int round = 1; ; round++) {
        writeUntil(system, events, control, wanted);
        // closing captures the log's last transactions and checkpoints it into the file
        storage.close(persistenceId).toCompletableFuture().get(1, TimeUnit.MINUTES);
        long size = Files.size(database);
        if (size >= RESTORE_BYTES) {
          break;
        }
        if (round == 5) {
          throw new IllegalStateException("the thread's session.db is " + size + " bytes after " + round + " rounds");
        }
        double bytesPerEvent = (double) size / events.sum();
        wanted = events.sum() + (long) Math.ceil((RESTORE_BYTES - size) / bytesPerEvent * 1.02);
      }
      if (!storage.replication().orElseThrow().drain(Duration.ofMinutes(2))) {
        throw new IllegalStateException("the replica of " + persistenceId + " did not catch up within 2 minutes");
      }
    } finally {
      control.stopped = true;
      Teardown.terminate(system);
    }
  }

  /** Lets the writer persist until {@code wanted} events are confirmed, and until the one in flight then is. */
  private static void writeUntil(ActorSystem<JournalLoad.Writer.Command> writer, LongAdder events,
                                 JournalLoad.Control control, long wanted) throws InterruptedException {
    control.stopped = false;
    writer.tell(JournalLoad.Writer.Next.INSTANCE);
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (events.sum() < wanted) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the thread reached " + events.sum() + " of " + wanted + " events in 5 minutes");
      }
      Thread.sleep(20);
    }
    control.stopped = true;
    long seen;
    do {
      seen = events.sum();
      Thread.sleep(200);
    } while (events.sum() != seen);
  }

  private static long journalRows(Path database) throws SQLException {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("SELECT count(*) FROM journal")) {
      row.next();
      return row.getLong(1);
    }
  }

  // ---- the figures ---------------------------------------------------------------------------------------

  /** What was measured (NaN: not measured, a case before failed), printed with the goals and the RESULT line. */
  private static final class Outcome {
    double off = Double.NaN;
    double async = Double.NaN;
    double sync = Double.NaN;
    double restoreMillis = Double.NaN;
    double lagP99 = Double.NaN;

    void print() {
      System.out.println("goals (reported, not enforced):");
      goal("async events/s >= %.1fx off".formatted(ASYNC_GOAL), async / off, "%.2fx", async / off >= ASYNC_GOAL);
      goal("sync events/s >= %.1fx off".formatted(SYNC_GOAL), sync / off, "%.2fx", sync / off >= SYNC_GOAL);
      goal("restore of a 10 MiB thread <= %.0f ms".formatted(RESTORE_GOAL_MS), restoreMillis, "%.0f ms",
          restoreMillis <= RESTORE_GOAL_MS);
      goal("async lag p99 <= %.0f ms".formatted(LAG_GOAL_MS), lagP99, "%.0f ms", lagP99 <= LAG_GOAL_MS);
      System.out.println(String.format(Locale.ROOT, "RESULT replication off=%.0f async=%.0f sync=%.0f async_ratio=%.2f "
              + "sync_ratio=%.2f restore_10mb_ms=%.0f lag_p99_ms=%.0f",
          off, async, sync, async / off, sync / off, restoreMillis, lagP99));
    }

    private static void goal(String goal, double measured, String format, boolean met) {
      System.out.printf("  %-40s %10s  %s%n", goal, format.formatted(measured),
          Double.isNaN(measured) ? "not measured" : met ? "met" : "MISSED");
    }
  }
}
