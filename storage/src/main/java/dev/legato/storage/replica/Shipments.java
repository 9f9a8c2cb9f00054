package dev.legato.storage.replica;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upload queue of one file's replica: what its writer captured goes into the file's layout in order, one
 * upload at a time. Snapshots and marks go at once; segments wait in the node's log until they are due, then
 * go up merged, one object per WAL index. Everything the queue holds is guarded by its lock; the uploads run
 * on the replication's threads, and a writer fenced off by a newer one ({@link Fence}) drops the queue.
 */
final class Shipments {
  // the replica's lines, under the replica's name
  private static final Logger log = LoggerFactory.getLogger(DbReplica.class);

  private final Replication replication;
  private final String root;
  private final Fence fence;

  // ---- guarded by this ----
  private final ArrayDeque<Shipment> queue = new ArrayDeque<>();
  private boolean shipping;
  /** Of the queue: bytes of the segments in it, and how many objects that are not segments wait in it. */
  private long loggedBytes;
  private int unlogged;
  /** The file is closed: what it captured goes into its layout as soon as it is in the node's log. */
  private boolean closing;
  /** When a wake-up to upload the oldest logged segment is due (0: none scheduled). */
  private long flushDueNanos;
  /** The logged segments, due by their age, have their turn in the node's upload budget (from then on). */
  private boolean turnTaken;
  private long turnNanos;
  private long pendingBytes;
  private String shippedGeneration;
  private ReplicaLayout.Position shippedPosition;
  private Instant shippedAt;
  /** When a stored snapshot last pruned the replica; touched only by the upload shipping the queue (one at a time). */
  private long lastPruneNanos;

  Shipments(Replication replication, String root, Fence fence) {
    this.replication = replication;
    this.root = root;
    this.fence = fence;
  }

  /** The file opened (again): its logged segments wait for their flush again. */
  synchronized void opened() {
    closing = false;
  }

  /** The file closes: what it captured goes into its layout as soon as it is stored in the node's log. */
  void closing() {
    synchronized (this) {
      closing = true;
    }
    kick();
  }

  /** Queues an object of the layout behind the ones before it; false (waiters failed) once this writer is fenced off. */
  boolean queue(Shipment shipment) {
    synchronized (this) {
      if (fence.fencedBy() == null) {
        queue.add(shipment);
        pendingBytes += shipment.body.length;
        if (shipment.logged) {
          loggedBytes += shipment.body.length;
        } else {
          unlogged++;
        }
      }
    }
    if (fence.fencedBy() != null) {
      fail(shipment.waiters, fence.failure());
      return false;
    }
    replication.pending(shipment.body.length);
    if (!shipment.logged) {
      kick();
    }
    return true;
  }

  /**
   * On an upload thread: the segment is in batch {@code batch} of the node's log, so it is stored; its waiters
   * are told (once the generation's snapshot is stored too), and it waits for its turn to go into the layout.
   */
  void inLog(Shipment segment, long batch, byte[] object, CompletableFuture<Void> snapshot) {
    boolean dropped;
    long shrunk = 0;
    synchronized (this) {
      dropped = fence.fencedBy() != null; // only fencing takes a segment out of the queue before it is stored
      if (!dropped) {
        shrunk = object.length - segment.body.length;
        segment.body = object;
        pendingBytes += shrunk;
        loggedBytes += shrunk;
        segment.batch = batch;
        shippedGeneration = generationOf(segment.key);
        shippedPosition = segment.position;
        shippedAt = segment.time;
      }
    }
    if (dropped) {
      replication.log().released(batch); // this writer was fenced off meanwhile: it never goes into the layout
      return;
    }
    replication.pending(shrunk);
    if (snapshot.isDone()) {
      segment.waiters.forEach(w -> w.complete(null));
    } else {
      snapshot.whenComplete((done, error) -> segment.waiters.forEach(w -> {
        if (error != null) {
          w.completeExceptionally(error);
        } else {
          w.complete(null);
        }
      }));
    }
    kick();
  }

  /** Waiters whose transactions are already in a queued segment wait for it; with none queued, they are done. */
  void attachToLast(List<CompletableFuture<Void>> waiters) {
    if (waiters.isEmpty()) {
      return;
    }
    synchronized (this) {
      Shipment last = queue.peekLast();
      if (last != null && !last.inLog()) {
        last.waiters.addAll(waiters);
        return;
      }
    }
    waiters.forEach(w -> w.complete(null));
  }

  /**
   * Starts an upload of the oldest queued object when it is due: a snapshot or a mark at once; logged
   * segments once they are in the node's log and either the file is closed, an object that is not a segment
   * waits behind them, the node is draining, they add up to {@code flush-size}, or the half of the backlog is
   * reached (at once); or the oldest is {@code flush-interval} old and its turn in the node's budget of layout
   * uploads has come (a wake-up is scheduled for each).
   */
  void kick() {
    long wakeIn = 0;
    synchronized (this) {
      if (shipping || fence.fencedBy() != null) {
        return;
      }
      Shipment head = queue.peek();
      if (head == null || (head.logged && !head.inLog())) {
        return;
      }
      if (head.logged && !flushDue()) {
        long due = head.capturedNanos + replication.flushIntervalNanos();
        if (flushDueNanos == 0 || flushDueNanos > due) {
          flushDueNanos = due;
          wakeIn = Math.max(1, due - System.nanoTime());
        }
      } else if (head.logged && !flushForced() && !turnTaken) {
        turnTaken = true;
        long wait = replication.layoutTurnNanos();
        turnNanos = System.nanoTime() + wait;
        if (wait > 0) {
          flushDueNanos = turnNanos;
          wakeIn = wait;
        } else {
          shipping = true;
        }
      } else if (head.logged && !flushForced() && System.nanoTime() - turnNanos < 0) {
        return; // its turn is still to come; a wake-up is scheduled for then
      } else {
        shipping = true;
      }
      if (shipping) {
        turnTaken = false;
      }
    }
    if (wakeIn > 0) {
      replication.scheduleNanos(() -> {
        synchronized (this) {
          flushDueNanos = 0;
        }
        kick();
      }, wakeIn);
    } else if (shipping) {
      replication.upload(this::ship);
    }
  }

  /** Guarded by this: whether the logged segments at the head go into the layout now. */
  private boolean flushDue() {
    return flushForced() || System.nanoTime() - queue.peek().capturedNanos >= replication.flushIntervalNanos();
  }

  /** Guarded by this: whether the logged segments at the head go into the layout at once, whatever their age. */
  private boolean flushForced() {
    return closing || unlogged > 0 || loggedBytes >= replication.flushBytes() || replication.draining()
        || replication.overHalfBacklog();
  }

  /** On an upload thread: stores the due objects in order; on a failure, tries again later. */
  private void ship() {
    try {
      shipQueued();
    } catch (RuntimeException | Error unexpected) {
      // never leave the queue marked as shipping with nobody shipping it
      log.error("replicas: shipping {} failed unexpectedly; trying again", root, unexpected);
      replication.retryLater(this::ship);
    }
  }

  private void shipQueued() {
    while (true) {
      List<Shipment> next = new ArrayList<>();
      synchronized (this) {
        Shipment head = queue.peek();
        if (head == null || (head.logged && (!head.inLog() || !flushDue()))) {
          shipping = false;
          break;
        }
        next.add(head);
        if (head.logged) {
          // the stored segments of the same WAL index after it, merged into one object
          for (Shipment s : queue) {
            if (s != head) {
              if (!s.logged || !s.inLog() || s.position.index() != head.position.index() || !generationOf(s.key).equals(generationOf(head.key))) {
                break;
              }
              next.add(s);
            }
          }
        }
      }
      Shipment first = next.get(0);
      Shipment last = next.get(next.size() - 1);
      byte[] body;
      try {
        body = next.size() == 1 ? first.body : merge(next);
        if (fencedByNewerWriter(first)) {
          return;
        }
        replication.target().put(first.key, body, last.time);
      } catch (IOException | RuntimeException e) {
        replication.uploadFailed(root, e);
        replication.retryLater(this::ship);
        return;
      }
      long bytes = 0;
      synchronized (this) {
        for (Shipment s : next) {
          queue.poll(); // next is the head and those right after it
          pendingBytes -= s.body.length;
          bytes += s.body.length;
          if (s.logged) {
            loggedBytes -= s.body.length;
          } else {
            unlogged--;
          }
        }
        if (!first.logged) {
          shippedGeneration = generationOf(first.key);
          shippedPosition = first.position;
          shippedAt = first.time;
        }
      }
      if (first.position.snapshot() && first.key.startsWith(ReplicaLayout.generations(root)) && pruneDue()) {
        replication.snapshotStored(root); // retention: older objects may have left the window it keeps
      }
      replication.stored(bytes, body.length, first.logged ? new long[0] : new long[] {System.nanoTime() - first.capturedNanos});
      for (Shipment s : next) {
        if (s.logged) {
          replication.log().released(s.batch);
        } else {
          s.waiters.forEach(w -> w.complete(null));
        }
      }
    }
    kick(); // a later segment may be due at a later time
  }

  /**
   * Whether a stored snapshot should prune the file's replica: at most once per {@code retention-check-interval}
   * per file. A busy file snapshots every few MiB of log, and each prune lists the whole replica; what retention
   * removes is a week old by default, so pruning it an hour later costs nothing, and the first snapshot of a
   * writer prunes at once (the generations of its predecessors).
   */
  private boolean pruneDue() {
    long now = System.nanoTime();
    if (lastPruneNanos != 0 && now - lastPruneNanos < replication.settings().retentionCheckInterval().toNanos()) {
      return false;
    }
    lastPruneNanos = now;
    return true;
  }

  /**
   * The logged segments of one WAL index, one after the other, as one segment object from the first's offset
   * (one LZ4 frame: Litestream reads only the first of concatenated frames).
   */
  private static byte[] merge(List<Shipment> segments) throws IOException {
    List<byte[]> frames = new ArrayList<>(segments.size());
    for (Shipment s : segments) {
      frames.add(s.body);
    }
    return Lz4.concat(frames);
  }

  /**
   * Before storing {@code next}: when the fence finds a newer writer, drops what this writer has not stored,
   * fails whoever waits for it, and stops.
   */
  private boolean fencedByNewerWriter(Shipment next) throws IOException {
    Optional<String> newer = fence.newerThan(next.key);
    if (newer.isEmpty()) {
      return false;
    }
    List<CompletableFuture<Void>> waiters = new ArrayList<>();
    List<Long> batches = new ArrayList<>();
    long dropped;
    synchronized (this) {
      fence.fenceOff(newer.get());
      dropped = pendingBytes;
      queue.forEach(s -> {
        waiters.addAll(s.waiters);
        if (s.inLog()) {
          batches.add(s.batch);
        }
      });
      queue.clear();
      pendingBytes = 0;
      loggedBytes = 0;
      unlogged = 0;
      shipping = false;
      turnTaken = false;
    }
    replication.pending(-dropped);
    batches.forEach(replication.log()::released);
    log.warn("replicas: {} has a newer writer (generation {}, this node's is {}); this node stops writing it", root,
        newer.get(), generationOf(next.key));
    waiters.forEach(w -> w.completeExceptionally(fence.failure()));
    return true;
  }

  /** The generation a stored key belongs to; the last one for a key outside {@code generations/} (the deletion mark). */
  private String generationOf(String key) {
    String generation = ReplicaLayout.generationOf(root, key);
    return generation != null ? generation : shippedGeneration;
  }

  /** Fails whoever waits, with one line in the log. */
  static void fail(List<CompletableFuture<Void>> waiters, RuntimeException failure) {
    log.error("{}", failure.getMessage());
    waiters.forEach(w -> w.completeExceptionally(failure));
  }

  /** Every object queued is in the layout, or this writer is fenced off (what it has not stored never will be). */
  synchronized boolean storedAll() {
    return queue.isEmpty() || fence.fencedBy() != null;
  }

  /** With the file closed: waits until every object it queued is in its layout (or this writer is fenced off). */
  void awaitStored(Duration limit) throws IOException {
    kick();
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      synchronized (this) {
        if (queue.isEmpty() || fence.fencedBy() != null) {
          return;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("the replica has not stored the file's last transactions within " + limit.toSeconds()
            + " s (is " + replication.target().describe() + " answering?)");
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting for the replica to store the file");
      }
    }
  }

  // ---- what operators see -------------------------------------------------------------------------------

  synchronized DbReplica.Status status() {
    Instant oldest = queue.stream().filter(s -> !s.inLog()).map(s -> s.time).findFirst().orElse(null);
    long lag = oldest == null ? 0 : Math.max(0, System.currentTimeMillis() - oldest.toEpochMilli());
    return new DbReplica.Status(root, shippedGeneration, shippedPosition == null ? null : shippedPosition.index(),
        shippedPosition == null ? null : Math.max(0, shippedPosition.offset()), shippedAt, queue.size(), pendingBytes, lag);
  }

  /** Nothing waits for the target. */
  synchronized boolean idle() {
    return queue.isEmpty() && !shipping;
  }
}
