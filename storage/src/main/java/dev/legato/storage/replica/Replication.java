package dev.legato.storage.replica;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every database file's replica on this node, the threads that upload them, and what operators see of it.
 * Uploads of one file go in order, one at a time; {@code upload-threads} bound the uploads in flight for
 * the whole node. A failed upload is tried again with a growing pause (to {@code max-backoff}); meanwhile
 * writes go on locally and the lag grows; one log line when a target starts failing, one when it is back.
 * Retention ({@link Retention}) runs on the upload threads too: a file's replica is pruned after each snapshot
 * it stores, and deleted files' replicas are swept every {@code retention-check-interval}.
 */
public final class Replication implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Replication.class);

  public enum Mode { OFF, ASYNC, SYNC }

  /**
   * @param backlogBytes captured but not yet stored bytes beyond which captures wait (the log keeps the rest)
   * @param retentionCheckInterval how often deleted files' replicas are looked for, to purge those past retention
   * @param flushInterval how long a segment stored in the node's log waits, at most, to go into its file's layout
   * @param flushBytes the size of a file's logged segments at which they go into its layout at once
   * @param layoutUploadsPerSecond the node's budget of uploads into layouts due only by their age (0: none)
   */
  public record Settings(Mode mode, Duration syncInterval, long checkpointBytes, int uploadThreads, Duration minBackoff,
                         Duration maxBackoff, long backlogBytes, Duration retention, Duration fenceCheckInterval,
                         Duration retentionCheckInterval, Duration flushInterval, long flushBytes,
                         int layoutUploadsPerSecond) {}

  /** With twice the longest flush, the age past which another writer's batch is its own no more (see NodeLog.fold). */
  private static final Duration PEER_BATCH_AGE = Duration.ofMinutes(5);
  /**
   * A flush due by its age waits for its turn in the budget at most this many flush intervals; past that it goes
   * over budget, so a stored segment is in its layout within (1 + this) flush intervals whatever the load.
   */
  static final int MAX_TURN_WAIT = 5;

  private final Settings settings;
  private final ReplicaTarget target;
  private final ConcurrentHashMap<String, DbReplica> replicas = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, String> newestGeneration = new ConcurrentHashMap<>();
  private final ExecutorService uploads;
  /** The node log's batches, apart: sync-mode writes wait for them, and must not queue behind layout uploads. */
  private final ExecutorService batchUploads;
  private final ScheduledExecutorService timer;
  /**
   * Where files are checked against (and restored from) their replica before they open: network work, kept off the
   * storage's few SQLite writer threads, where many threads moving in at once would queue behind each other and
   * hold up the commits of every other thread.
   */
  private final ExecutorService checks;
  private final AtomicLong backlog = new AtomicLong();
  private final AtomicBoolean failing = new AtomicBoolean();
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private final LongAdder bytesShipped = new LongAdder();
  private final LongAdder objectsShipped = new LongAdder();
  private final LongAdder failures = new LongAdder();
  private final LongAdder restores = new LongAdder();
  private final Retention retention;
  /** Roots whose pruning is queued or running (one at a time per file). */
  private final Set<String> pruning = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean sweeping = new AtomicBoolean();
  private final AtomicBoolean pruneFailing = new AtomicBoolean();
  private final AtomicBoolean sweepFailing = new AtomicBoolean();
  private volatile boolean closed;
  private volatile boolean draining;
  private final NodeLog nodeLog;
  private volatile boolean folded;
  /** The other writers' batches this process read while folding them for single files (they never change). */
  /** The batches of other writers' logs read so far, read side by side on {@link #reads}. */
  private final PeerLogs.ReadBatches readBatches;
  /** Reads from the target side by side for a restore (which waits on them from a {@link #checks} thread). */
  private final ExecutorService reads;
  private final Object folding = new Object();
  private final long[] lags = new long[1024];
  private int lagCount;
  /** The next free turn of the layout-upload budget, in System.nanoTime; guarded by {@link #turns}. */
  private final Object turns = new Object();
  private long nextTurnNanos = System.nanoTime();

  public Replication(Settings settings, ReplicaTarget target) {
    this.settings = settings;
    this.target = target;
    this.uploads = Executors.newFixedThreadPool(settings.uploadThreads(), named("legato-replica-upload"));
    this.batchUploads = Executors.newFixedThreadPool(NodeLog.THREADS, named("legato-replica-log"));
    // Checks and restores wait on the target, not on the CPU: many threads moving in at once (all of a node's when it
    // leaves or dies) each check two files and read several objects side by side, and their first reads must not
    // queue behind the others' read-ahead
    this.checks = Executors.newFixedThreadPool(READERS_PER_UPLOADER * settings.uploadThreads(), named("legato-replica-check"));
    this.reads = Executors.newFixedThreadPool(READERS_PER_UPLOADER * settings.uploadThreads(), named("legato-replica-read"));
    this.readBatches = new PeerLogs.ReadBatches(reads);
    this.timer = Executors.newSingleThreadScheduledExecutor(named("legato-replica-timer"));
    this.retention = new Retention(target, settings.retention());
    this.nodeLog = new NodeLog(this, Generations.next(System.currentTimeMillis(), Optional.empty()),
        settings.syncInterval().toNanos() / 10, settings.syncInterval().toNanos());
    long interval = settings.retentionCheckInterval().toMillis();
    // the first sweep soon after start (a node restarted more often than the interval still sweeps), spread
    // over a minute so that nodes started together do not sweep together
    long first = ThreadLocalRandom.current().nextLong(Math.max(1, Math.min(interval, 60_000)));
    timer.scheduleWithFixedDelay(this::sweepDeleted, first, Math.max(1, interval), TimeUnit.MILLISECONDS);
  }

  public Settings settings() {
    return settings;
  }

  public ReplicaTarget target() {
    return target;
  }

  /**
   * Names this process's node log as the writer of generation {@code generation} of {@code root} (in the
   * background; without it, a restore folds every other writer's log, as it would anyway); {@code handedOver}: and
   * says the layout holds everything this writer wrote of it (its file closed and shipped), so a restore folds
   * nothing. The future completes either way once it is done.
   */
  CompletableFuture<Void> nameWriter(String root, String generation, boolean handedOver) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (closed) {
      done.complete(null);
      return done;
    }
    String name = nodeLog.writer() + (handedOver ? "\n" + HANDED_OVER : "");
    try {
      uploads.execute(() -> {
        try {
          target.put(ReplicaLayout.writer(root, generation), name.getBytes(StandardCharsets.UTF_8), Instant.now());
        } catch (IOException | RuntimeException e) {
          log.debug("replicas: {}: naming the writer of generation {} failed: {}", root, generation, e.getMessage());
        }
        done.complete(null);
      });
    } catch (RejectedExecutionException closing) {
      done.complete(null); // the replication stops: restores fold every log, as without the name
    }
    return done;
  }

  /** The second line of a generation's writer name once its writer handed the file over whole. */
  static final String HANDED_OVER = "handed over";

  /** The threads that check, and those that read for restores, per upload thread. */
  static final int READERS_PER_UPLOADER = 4;

  /** Where a restore reads side by side ({@link #reads}). */
  java.util.concurrent.Executor reads() {
    return reads;
  }

  /** The threads that check and restore files before they open ({@link DbReplica#beforeOpen}). */
  public java.util.concurrent.Executor checks() {
    return checks;
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

  NodeLog log() {
    return nodeLog;
  }

  long flushIntervalNanos() {
    return settings.flushInterval().toNanos();
  }

  /**
   * A file's logged segments are due by their age alone: how long their upload waits for its turn in the node's
   * budget of {@code layout-uploads} a second (0: none). Turns go one after the other, in the order asked, so the
   * uploads of a thousand files whose segments came due together spread evenly instead of going in a burst; and
   * the budget bounds the requests, whatever the number of busy files, at the cost of segments waiting longer
   * (in memory and in the node's log). A wait past {@link #MAX_TURN_WAIT} flush intervals goes over budget.
   */
  long layoutTurnNanos() {
    int perSecond = settings.layoutUploadsPerSecond();
    if (perSecond <= 0) {
      return 0;
    }
    synchronized (turns) {
      long now = System.nanoTime();
      long wait = Math.max(0, nextTurnNanos - now);
      if (wait > MAX_TURN_WAIT * flushIntervalNanos()) {
        return 0;
      }
      nextTurnNanos = now + wait + 1_000_000_000L / perSecond;
      return wait;
    }
  }

  long flushBytes() {
    return settings.flushBytes();
  }

  /** Whether the node is stopping: every file's logged segments go into its layout at once. */
  boolean draining() {
    return draining;
  }

  /**
   * Before this process restores or opens any file for the first time: folds the logs of every other writer
   * into their files' layouts (a crashed predecessor's last batches are found there). A failure is thrown,
   * and the next open tries again.
   */
  void foldOtherLogs() {
    if (folded) {
      return;
    }
    synchronized (folding) {
      if (folded) {
        return;
      }
      try {
        // their batches go once they are older than any upload of their writer that may still be under way
        Instant settled = Instant.now().minus(settings.flushInterval().multipliedBy(2 * (1 + MAX_TURN_WAIT))
            .plus(PEER_BATCH_AGE));
        NodeLog.Fold fold = NodeLog.fold(target, writer -> !writer.equals(nodeLog.writer()), settled);
        if (fold.segmentsCopied() > 0 || fold.batchesDeleted() > 0) {
          log.info("replicas: folded {} batches of {} earlier writers' logs into the files' replicas"
              + " ({} segments in {} objects)", fold.batches(), fold.writers(), fold.segmentsCopied(), fold.objectsStored());
        }
      } catch (IOException | RuntimeException e) {
        throw new ReplicaException("cannot fold the node logs left in " + target.describe() + " into the replicas: "
            + e.getMessage(), e);
      }
      folded = true;
    }
  }

  /**
   * Starts reading, in the background, every batch of the other writers' logs this process has not read: what
   * a node does when another stops answering. Should that node be dead, its threads' restores here find its log
   * read already (its last batches exist by now) instead of reading it first, side by side with their restores; a
   * listing made later still finds any batch a live writer adds. Batches are only read: nothing is folded or
   * deleted.
   */
  public void readPeerLogs() {
    try {
      reads.execute(() -> {
        try {
          for (String writer : target.children(NodeLog.PREFIX)) {
            if (writer.equals(nodeLog.writer())) {
              continue;
            }
            String prefix = NodeLog.PREFIX + writer + "/";
            List<String> keys = target.list(prefix).stream().map(ReplicaTarget.Entry::key).toList();
            readBatches.retain(prefix, Set.copyOf(keys));
            readBatches.prefetch(keys, key -> NodeLog.decode(target.get(key)));
          }
        } catch (IOException | RuntimeException e) {
          log.debug("replicas: reading the other writers' logs ahead failed: {}", e.getMessage());
        }
      });
    } catch (RejectedExecutionException closing) {
      // the replication stops
    }
  }

  /** Batches of other writers' logs read and kept (for tests). */
  int peerBatchesRead() {
    return readBatches.size();
  }

  /**
   * Before this process restores a file whose newest generation another writer made: folds what the other
   * writers' logs hold of that file into its layout (that writer may have died with acknowledged segments in its
   * log only, after this process folded the logs at its start). A failure is thrown; the open fails and is tried
   * again with the next use.
   */
  void foldOtherLogsFor(String root, String generation) {
    String writerOfNewest;
    try {
      writerOfNewest = generation == null ? null : PeerLogs.writerOf(target, root, generation);
    } catch (IOException e) {
      throw new ReplicaException("cannot read the writer of " + root + " generation " + generation + " in "
          + target.describe() + ": " + e.getMessage(), e);
    }
    foldOtherLogsFor(root, generation, writerOfNewest);
  }

  /**
   * The same, with the name of the generation's writer read already ({@link PeerLogs#writerOf}: null when it
   * names none). Whether it changed the file's layout (a listing of it read before is stale).
   */
  boolean foldOtherLogsFor(String root, String generation, String writerOfNewest) {
    try {
      // Only the writer that began the generation to restore wrote segments of it; when the generation names it,
      // that writer's log is the only one read (the others' may be long, and they are live nodes' own).
      long began = System.nanoTime();
      if (writerOfNewest != null && writerOfNewest.endsWith("\n" + HANDED_OVER)) {
        log.debug("replicas: {}: generation {} was handed over whole: nothing to fold", root, generation);
        return false; // its writer closed the file and its layout held everything before it let go
      }
      Predicate<String> theirs = writer -> !writer.equals(nodeLog.writer());
      NodeLog.Fold fold = writerOfNewest == null ? PeerLogs.foldFile(target, theirs, root, readBatches)
          : PeerLogs.foldFile(target, theirs.test(writerOfNewest) ? List.of(writerOfNewest) : List.of(), root,
              readBatches);
      if (fold.segmentsCopied() > 0) {
        log.info("replicas: {}: folded {} segments that only another writer's log held", root, fold.segmentsCopied());
      }
      log.debug("replicas: {}: folded {} batches of {} writers' logs for generation {} in {} ms (its writer: {})",
          root, fold.batches(), fold.writers(), generation, (System.nanoTime() - began) / 1_000_000,
          writerOfNewest == null ? "not named" : writerOfNewest);
      return fold.objectsStored() > 0;
    } catch (IOException | RuntimeException e) {
      throw new ReplicaException("cannot fold the node logs left in " + target.describe() + " into the replica of "
          + root + ": " + e.getMessage(), e);
    }
  }

  boolean syncMode() {
    return settings.mode() == Mode.SYNC;
  }

  long checkpointBytes() {
    return settings.checkpointBytes();
  }

  /** Runs {@code work} on the timer a sync interval from now. */
  void schedule(Runnable work) {
    scheduleNanos(work, settings.syncInterval().toNanos());
  }

  /**
   * Runs {@code work} on the timer after {@code nanos}. Once closed, nothing runs: what is not stored stays
   * in the local files (and the node log), and the file's next writer stores it.
   */
  void scheduleNanos(Runnable work, long nanos) {
    try {
      timer.schedule(work, nanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException closed) {
      // as said
    }
  }

  /** Runs {@code shipping} on an upload thread (nothing once closed, as for the timer). */
  void upload(Runnable shipping) {
    try {
      uploads.execute(shipping);
    } catch (RejectedExecutionException closed) {
      // as said
    }
  }

  /** Runs a batch of the node log's upload on a thread of its own (nothing once closed). */
  void uploadBatch(Runnable batch) {
    try {
      batchUploads.execute(batch);
    } catch (RejectedExecutionException closed) {
      // as said
    }
  }

  /** Runs {@code shipping} on an upload thread after a pause that grows with the failures in a row. */
  void retryLater(Runnable shipping) {
    int attempt = Math.min(consecutiveFailures.get(), 20);
    long pause = Math.min(settings.maxBackoff().toMillis(), settings.minBackoff().toMillis() << Math.min(attempt, 16));
    scheduleNanos(() -> upload(shipping), TimeUnit.MILLISECONDS.toNanos(Math.max(1, pause)));
  }

  void pending(long bytes) {
    backlog.addAndGet(bytes);
  }

  boolean overBacklog() {
    return backlog.get() > settings.backlogBytes();
  }

  /** Past half the backlog, stored segments go into their layouts without waiting for their flush interval. */
  boolean overHalfBacklog() {
    return backlog.get() > settings.backlogBytes() / 2;
  }

  /**
   * An object was stored: {@code captured} bytes leave the backlog (those of the segments it holds),
   * {@code bytes} were sent, and {@code lagNanos} are the lags of what it made stored for the first time.
   */
  void stored(long captured, long bytes, long[] lagNanos) {
    backlog.addAndGet(-captured);
    bytesShipped.add(bytes);
    objectsShipped.increment();
    consecutiveFailures.set(0);
    if (failing.compareAndSet(true, false)) {
      log.info("replicas: {} takes uploads again; catching up", target.describe());
    }
    synchronized (lags) {
      for (long lag : lagNanos) {
        lags[lagCount++ % lags.length] = lag;
      }
    }
  }

  void uploadFailed(String what, Exception e) {
    failures.increment();
    consecutiveFailures.incrementAndGet();
    if (failing.compareAndSet(false, true)) {
      log.warn("replicas: uploading to {} failed ({}: {}); writes go on locally and are shipped once it answers",
          target.describe(), what, e.getMessage());
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

  // ---- retention ----------------------------------------------------------------------------------------

  Retention retention() {
    return retention;
  }

  /**
   * A snapshot of the file at {@code root} was stored: objects before an older snapshot may have left the
   * retention window. Prunes them on an upload thread (one prune per file at a time); a failure is logged
   * once, and the next snapshot tries again.
   */
  void snapshotStored(String root) {
    if (!pruning.add(root)) {
      return;
    }
    try {
      uploads.execute(() -> {
        try {
          retention.prune(root, Instant.now());
          if (pruneFailing.compareAndSet(true, false)) {
            log.info("replicas: retention prunes {} again", target.describe());
          }
        } catch (IOException | RuntimeException e) {
          if (!closed && pruneFailing.compareAndSet(false, true)) {
            log.warn("replicas: removing objects past retention from {} failed ({}: {}); tried again after the"
                + " file's next snapshot", target.describe(), root, e.getMessage());
          }
        } finally {
          pruning.remove(root);
        }
      });
    } catch (RejectedExecutionException stopping) {
      pruning.remove(root);
    }
  }

  /** Every retention-check-interval: purges deleted files' replicas past retention, on an upload thread. */
  private void sweepDeleted() {
    if (!sweeping.compareAndSet(false, true)) {
      return; // the last sweep is still at work
    }
    try {
      uploads.execute(this::sweepOnce);
    } catch (RejectedExecutionException stopping) {
      sweeping.set(false);
    }
  }

  private void sweepOnce() {
    boolean more = false;
    Exception failure;
    try {
      Retention.Sweep sweep = retention.sweep(Instant.now());
      more = sweep.more();
      failure = sweep.firstFailure();
    } catch (IOException | RuntimeException e) {
      failure = e;
    }
    if (failure == null && sweepFailing.compareAndSet(true, false)) {
      log.info("replicas: deleted files' replicas in {} are purged again", target.describe());
    } else if (failure != null && !closed && sweepFailing.compareAndSet(false, true)) {
      log.warn("replicas: purging deleted files' replicas past retention in {} failed ({}); tried again in {}",
          target.describe(), failure.getMessage(), settings.retentionCheckInterval());
    }
    if (more) {
      try {
        uploads.execute(this::sweepOnce); // bounded work per task: the rest in the next one
        return;
      } catch (RejectedExecutionException stopping) {
        // closing
      }
    }
    sweeping.set(false);
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

  /** Whether every replica has stored all it captured, and pruned what its snapshots made unneeded. */
  public boolean caughtUp() {
    // idle first: a replica turns idle only after the prune its last snapshot asked for is registered
    return replicas.values().stream().allMatch(DbReplica::idle) && nodeLog.idle() && pruning.isEmpty();
  }

  /**
   * Waits up to {@code limit} for every captured object to be stored in its file's layout, and the node log's
   * batches deleted; true when they were. From then on, segments go into their layouts as soon as they are in
   * the node's log (a node drains as it stops).
   */
  public boolean drain(Duration limit) throws InterruptedException {
    draining = true;
    replicas.values().forEach(DbReplica::flush);
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
    closed = true;
    timer.shutdownNow();
    uploads.shutdownNow();
    batchUploads.shutdownNow();
    checks.shutdownNow();
    reads.shutdownNow();
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
