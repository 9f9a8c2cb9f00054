package dev.legato.storage.replica;

import java.io.IOException;
import java.util.Optional;

/**
 * Fencing of one file's writer by a newer one: at most every {@code fence-check-interval}, before an object of
 * its generation is stored, the writer looks for a newer generation of the file; once one is found, the writer
 * is fenced off: it drops what it has not stored, fails whoever waits for it, and stops, and the file's writer
 * refuses writes and restores the newer state before its next use. Generation names sort by their writer's
 * start, so the newest writer wins.
 */
final class Fence {
  private final Replication replication;
  private final String root;
  /** Touched only by the upload shipping the file's queue (one at a time). */
  private long lastCheckNanos = System.nanoTime();
  /** A newer generation written by another writer, once an upload found one: this writer stops. */
  private volatile String fencedBy;

  Fence(Replication replication, String root) {
    this.replication = replication;
    this.root = root;
  }

  /**
   * On an upload thread, before {@code key} is stored: when it is an object of a generation and the last look
   * is a {@code fence-check-interval} old, lists the replica's generations; a newer one than the key's, if any.
   */
  Optional<String> newerThan(String key) throws IOException {
    if (!key.startsWith(ReplicaLayout.generations(root))
        || System.nanoTime() - lastCheckNanos < replication.settings().fenceCheckInterval().toNanos()) {
      return Optional.empty();
    }
    String own = ReplicaLayout.generationOf(root, key);
    Optional<String> newest = Generations.newest(replication.target(), root);
    lastCheckNanos = System.nanoTime();
    return newest.filter(name -> name.compareTo(own) > 0);
  }

  /** The newer generation that fenced this writer off, or null. */
  String fencedBy() {
    return fencedBy;
  }

  /** Under the shipments' lock, as they drop what waits: from now on this writer stores nothing. */
  void fenceOff(String newer) {
    fencedBy = newer;
  }

  /** On the writer: it restored the newer state, or begins anew; it may write again. */
  void lift() {
    fencedBy = null;
  }

  /** What whoever waits for a fenced-off writer is told. */
  ReplicaException failure() {
    return new ReplicaException(root + " has a newer writer elsewhere (replica generation " + fencedBy
        + "); this node stopped writing it and restores the newer state before its next use", null);
  }
}
