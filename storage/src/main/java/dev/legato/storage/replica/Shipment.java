package dev.legato.storage.replica;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One object of a file's layout to upload, in order, and who waits for it. A WAL segment ({@code logged})
 * is first stored in the node's log ({@link NodeLog}); it counts as stored from then on, and goes into the
 * layout later, merged with the segments after it. Snapshots and marks go straight to the layout. A
 * segment's body is the log's bytes until the node log has compressed and stored it, then its LZ4 object
 * (so the backlog held in memory is compressed, and the storage writers do not compress).
 */
final class Shipment {
  final String key;
  /** Guarded by the file's {@link Shipments} for a segment: replaced by its LZ4 object once stored in the node log. */
  byte[] body;
  final Instant time;
  final long capturedNanos;
  final ReplicaLayout.Position position;
  final List<CompletableFuture<Void>> waiters;
  final boolean logged;
  /** Guarded by the file's {@link Shipments}: the node log's batch that holds it, once stored there. */
  long batch = -1;

  private Shipment(String key, byte[] body, Instant time, long capturedNanos, ReplicaLayout.Position position,
                   List<CompletableFuture<Void>> waiters, boolean logged) {
    this.key = key;
    this.body = body;
    this.time = time;
    this.capturedNanos = capturedNanos;
    this.position = position;
    this.waiters = new ArrayList<>(waiters); // later waiters may join (Shipments.attachToLast)
    this.logged = logged;
  }

  /** A WAL segment captured at {@code capturedNanos}: stored in the node's log first. */
  static Shipment segment(String key, byte[] body, Instant time, long capturedNanos, ReplicaLayout.Position position,
                          List<CompletableFuture<Void>> waiters) {
    return new Shipment(key, body, time, capturedNanos, position, waiters, true);
  }

  /** A snapshot or a mark, made now: it goes straight to the layout. */
  static Shipment object(String key, byte[] body, Instant time, ReplicaLayout.Position position,
                         List<CompletableFuture<Void>> waiters) {
    return new Shipment(key, body, time, System.nanoTime(), position, waiters, false);
  }

  boolean inLog() {
    return batch >= 0;
  }
}
