package dev.legato.storage.replica;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every database file's replica on this node, the threads that upload them, and what operators see of it.
 * Uploads of one file go in order, one at a time; {@code upload-threads} bound the uploads in flight for
 * the whole node. A failed upload is tried again with a growing pause (to {@code max-backoff}); meanwhile
 * writes go on locally and the lag grows; one log line when a target starts failing, one when it is back.
 */
public final class Replication implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Replication.class);

  public enum Mode { OFF, ASYNC, SYNC }

  /** @param backlogBytes captured but not yet stored bytes beyond which captures wait (the log keeps the rest) */
  public record Settings(Mode mode, Duration syncInterval, long checkpointBytes, int uploadThreads, Duration minBackoff,
                         Duration maxBackoff, long backlogBytes, Duration retention, Duration fenceCheckInterval) {}

  private final Settings settings;
  private final ReplicaTarget target;
  private final ConcurrentHashMap<String, DbReplica> replicas = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, String> newestGeneration = new ConcurrentHashMap<>();
  private final ExecutorService uploads;
  private final ScheduledExecutorService timer;
  private final AtomicLong backlog = new AtomicLong();
  private final AtomicBoolean failing = new AtomicBoolean();
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private final LongAdder bytesShipped = new LongAdder();
  private final LongAdder objectsShipped = new LongAdder();
  private final LongAdder failures = new LongAdder();
  private final LongAdder restores = new LongAdder();
  private final long[] lags = new long[1024];
  private int lagCount;

  public Replication(Settings settings, ReplicaTarget target) {
    this.settings = settings;
    this.target = target;
    this.uploads = Executors.newFixedThreadPool(settings.uploadThreads(), named("legato-replica-upload"));
    this.timer = Executors.newSingleThreadScheduledExecutor(named("legato-replica-timer"));
  }

  public Settings settings() {
    return settings;
  }

  public ReplicaTarget target() {
    return target;
  }

  /** The replica of a database file, made on first use; {@code root} is its key prefix. */
  public DbReplica replica(String root, Path database, String schema) {
    return replicas.computeIfAbsent(root, r -> new DbReplica(this, r, database, schema));
  }

  /** Forgets a file's replica state (its local files were deleted; the replica itself stays). */
  public void forget(String root) {
    replicas.remove(root);
  }

  public Optional<DbReplica.Status> status(String root) {
    DbReplica replica = replicas.get(root);
    return replica == null ? Optional.empty() : Optional.of(replica.status());
  }

  // ---- for DbReplica ------------------------------------------------------------------------------------

  boolean syncMode() {
    return settings.mode() == Mode.SYNC;
  }

  long checkpointBytes() {
    return settings.checkpointBytes();
  }

  void schedule(Runnable work) {
    timer.schedule(work, settings.syncInterval().toMillis(), TimeUnit.MILLISECONDS);
  }

  void upload(Runnable shipping) {
    uploads.execute(shipping);
  }

  void retryLater(Runnable shipping) {
    int attempt = Math.min(consecutiveFailures.get(), 20);
    long pause = Math.min(settings.maxBackoff().toMillis(), settings.minBackoff().toMillis() << Math.min(attempt, 16));
    timer.schedule(() -> uploads.execute(shipping), Math.max(1, pause), TimeUnit.MILLISECONDS);
  }

  void pending(long bytes) {
    backlog.addAndGet(bytes);
  }

  boolean overBacklog() {
    return backlog.get() > settings.backlogBytes();
  }

  void uploaded(long bytes, long lagNanos) {
    backlog.addAndGet(-bytes);
    bytesShipped.add(bytes);
    objectsShipped.increment();
    consecutiveFailures.set(0);
    if (failing.compareAndSet(true, false)) {
      log.info("replicas: {} takes uploads again; catching up", target.describe());
    }
    synchronized (lags) {
      lags[lagCount++ % lags.length] = lagNanos;
    }
  }

  void uploadFailed(DbReplica replica, Exception e) {
    failures.increment();
    consecutiveFailures.incrementAndGet();
    if (failing.compareAndSet(false, true)) {
      log.warn("replicas: uploading to {} failed ({}: {}); writes go on locally and are shipped once it answers",
          target.describe(), replica.root(), e.getMessage());
    }
  }

  void restored(Restorer.Result result) {
    restores.increment();
    if (!result.complete()) {
      log.error("replicas: {} restored incompletely: {}", result.root(), result.problem());
    }
  }

  void sawGeneration(String root, Optional<String> generation) {
    generation.ifPresent(g -> newestGeneration.merge(root, g, (a, b) -> a.compareTo(b) >= 0 ? a : b));
  }

  Optional<String> newestSeen(String root) {
    return Optional.ofNullable(newestGeneration.get(root));
  }

  // ---- what operators see -------------------------------------------------------------------------------

  public record Figures(long bytesShipped, long objectsShipped, long failures, long restores, long backlogBytes,
                        double lagP50Millis, double lagP99Millis) {}

  public Figures figures() {
    long[] copy;
    synchronized (lags) {
      copy = Arrays.copyOf(lags, Math.min(lagCount, lags.length));
    }
    Arrays.sort(copy);
    return new Figures(bytesShipped.sum(), objectsShipped.sum(), failures.sum(), restores.sum(), backlog.get(),
        percentile(copy, 0.50), percentile(copy, 0.99));
  }

  private static double percentile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    return sorted[(int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] / 1e6;
  }

  /** Whether every replica has stored all it captured. */
  public boolean caughtUp() {
    return replicas.values().stream().allMatch(DbReplica::idle);
  }

  /** Waits up to {@code limit} for every captured object to be stored; true when they were. */
  public boolean drain(Duration limit) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!caughtUp()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(10);
    }
    return true;
  }

  @Override
  public void close() {
    timer.shutdownNow();
    uploads.shutdownNow();
    target.close();
  }

  private static ThreadFactory named(String name) {
    AtomicInteger counter = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + counter.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  Map<String, DbReplica> replicas() {
    return replicas;
  }
}
