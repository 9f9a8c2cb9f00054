package dev.legato.storage.replica;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Rebuilds a database file from its replica, as {@code litestream restore} does: the generation's snapshot,
 * then each WAL index's segments in order, applied by SQLite itself (the log written beside the file, then
 * checkpointed into it). Unlike Litestream it checks what it applies: every object's LZ4 content checksum,
 * that segments follow one another without a gap, and every frame's salts and running checksum. At the first
 * object that fails, it stops at the last whole transaction before it and says so in {@link Result#problem()}.
 */
public final class Restorer {
  private Restorer() {}

  /**
   * What was restored: the generation, the last index and log offset applied, the time of the last object
   * applied, and, when the replica is damaged, what stopped the restore early.
   */
  public record Result(String root, String generation, int index, long offset, Instant time, int objects, String problem,
                       String integrity) {
    public boolean complete() {
      return problem == null;
    }
  }

  /** The generation a restore at {@code at} (null: the newest state) would use, if the replica has one. */
  public static Optional<String> generationAt(ReplicaTarget target, String root, Instant at) throws IOException {
    List<String> names = new ArrayList<>(target.children(ReplicaLayout.generations(root)).stream().filter(Generations::isName).toList());
    names.sort(Comparator.reverseOrder());
    if (at == null) {
      return names.stream().findFirst();
    }
    for (String name : names) {
      List<ReplicaTarget.Entry> objects = target.list(ReplicaLayout.generation(root, name));
      boolean snapshotBefore = objects.stream()
          .anyMatch(o -> ReplicaLayout.parse(o.key()).map(ReplicaLayout.Position::snapshot).orElse(false) && !o.time().isAfter(at));
      if (snapshotBefore) {
        return Optional.of(name);
      }
    }
    return Optional.empty();
  }

  /**
   * Restores the replica at {@code root} into {@code output} (replaced whole, with any log or index beside
   * it, only once the restored file is complete): generation {@code generation} (null: the one for
   * {@code at}), as it was at {@code at} (null: its newest state).
   */
  public static Result restoreInto(ReplicaTarget target, String root, String generation, Instant at, Path output)
      throws IOException {
    return restoreInto(target, root, generation, null, at, output, null);
  }

  /**
   * The same; {@code objects}: the generation's listing when the caller has it (null: listed here), and
   * {@code reads}: where the objects are read side by side, up to {@link #READ_AHEAD} ahead of the one applied
   * (null: one after another). What a node restoring a thread that moved to it does: each object a round trip
   * less.
   */
  static Result restoreInto(ReplicaTarget target, String root, String generation, List<ReplicaTarget.Entry> objects,
                            Instant at, Path output, Executor reads) throws IOException {
    if (generation == null) {
      generation = generationAt(target, root, at).orElseThrow(() -> new IOException(
          "no replica at " + target.describe() + "/" + root + (at == null ? "" : " holds a state as early as " + at)));
    }
    if (objects == null) {
      objects = target.list(ReplicaLayout.generation(root, generation));
    }
    ReplicaTarget.Entry snapshot = null;
    ReplicaLayout.Position snapshotAt = null;
    List<ReplicaTarget.Entry> segments = new ArrayList<>();
    for (ReplicaTarget.Entry object : objects) {
      Optional<ReplicaLayout.Position> position = ReplicaLayout.parse(object.key());
      if (position.isEmpty() || (at != null && object.time().isAfter(at))) {
        continue;
      }
      if (position.get().snapshot()) {
        if (snapshotAt == null || position.get().index() >= snapshotAt.index()) {
          snapshot = object;
          snapshotAt = position.get();
        }
      } else {
        segments.add(object);
      }
    }
    if (snapshot == null) {
      throw new IOException("generation " + generation + " of " + root + " has no snapshot" + (at == null ? "" : " as early as " + at));
    }
    int snapshotIndex = snapshotAt.index();
    segments.removeIf(s -> ReplicaLayout.parse(s.key()).orElseThrow().index() < snapshotIndex);
    segments.sort(Comparator.comparing((ReplicaTarget.Entry s) -> ReplicaLayout.parse(s.key()).orElseThrow().index())
        .thenComparing(s -> ReplicaLayout.parse(s.key()).orElseThrow().offset()));

    Path directory = output.toAbsolutePath().getParent();
    Files.createDirectories(directory);
    Path work = directory.resolve(output.getFileName() + ".restoring");
    Path workLog = directory.resolve(work.getFileName() + "-wal");
    deleteDatabase(work);
    String problem = null;
    int applied = 1;
    int lastIndex = snapshotIndex;
    long lastOffset = 0;
    Instant lastTime = snapshot.time();
    List<String> keys = new ArrayList<>();
    keys.add(snapshot.key());
    segments.forEach(segment -> keys.add(segment.key()));
    ObjectReads read = new ObjectReads(target, keys, reads);
    try {
      byte[] base;
      try {
        base = Lz4.decompress(read.next(snapshot.key()));
      } catch (IOException damaged) {
        throw new IOException("the snapshot " + snapshot.key() + " is damaged: " + damaged.getMessage(), damaged);
      }
      Files.write(work, base);
      int i = 0;
      int expectedIndex = snapshotIndex;
      while (i < segments.size() && problem == null) {
        int currentIndex = ReplicaLayout.parse(segments.get(i).key()).orElseThrow().index();
        if (currentIndex != expectedIndex) {
          problem = "WAL index " + String.format("%08x", expectedIndex) + " is missing";
          break;
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Wal.Cursor cursor = Wal.Cursor.START;
        while (i < segments.size() && ReplicaLayout.parse(segments.get(i).key()).orElseThrow().index() == currentIndex) {
          ReplicaTarget.Entry segment = segments.get(i);
          long offset = ReplicaLayout.parse(segment.key()).orElseThrow().offset();
          if (offset != cursor.offset()) {
            problem = "a gap before " + segment.key() + " (the log before it ends at " + cursor.offset() + ")";
            break;
          }
          byte[] raw;
          try {
            raw = Lz4.decompress(read.next(segment.key()));
          } catch (IOException damaged) {
            problem = segment.key() + " is damaged (" + damaged.getMessage() + ")";
            break;
          }
          Wal.Cursor next = Wal.scan(raw, raw.length, cursor);
          if (next.offset() != cursor.offset() + raw.length) {
            problem = segment.key() + " holds frames that do not check out after log offset " + next.offset();
            log.write(raw, 0, (int) (next.offset() - cursor.offset()));
            cursor = next;
            lastOffset = next.offset();
            break;
          }
          log.write(raw, 0, raw.length);
          cursor = next;
          applied++;
          lastIndex = currentIndex;
          lastOffset = next.offset();
          lastTime = segment.time();
          i++;
        }
        if (log.size() > 0) {
          Files.write(workLog, log.toByteArray());
          applyLog(work);
        }
        while (problem != null && i < segments.size()) {
          i++; // stop at the last whole transaction before the damage
        }
        expectedIndex++;
      }
      String integrity = integrityCheck(work);
      deleteDatabase(output);
      Files.move(work, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return new Result(root, generation, lastIndex, lastOffset, lastTime, applied,
          problem == null ? null : "restored up to the last whole transaction before the damage: " + problem, integrity);
    } catch (SQLException e) {
      throw new IOException("applying the log of " + root + " failed: " + e.getMessage(), e);
    } finally {
      read.cancel();
      deleteDatabase(work);
    }
  }

  /** How many objects a restore reads ahead of the one it applies, when it reads side by side. */
  static final int READ_AHEAD = 8;

  /** A restore's objects, in the order it applies them: read as asked, or side by side a few ahead. */
  private static final class ObjectReads {
    private final ReplicaTarget target;
    private final List<String> keys;
    private final Executor reads;
    private final java.util.ArrayDeque<CompletableFuture<byte[]>> ahead = new java.util.ArrayDeque<>();
    private int asked;
    private int taken;

    ObjectReads(ReplicaTarget target, List<String> keys, Executor reads) {
      this.target = target;
      this.keys = keys;
      this.reads = reads;
      fill();
    }

    /** The next object's bytes; {@code key} is that object (objects are taken in order). */
    byte[] next(String key) throws IOException {
      if (reads == null || !key.equals(keys.get(taken))) {
        return target.get(key);
      }
      CompletableFuture<byte[]> first = ahead.poll();
      taken++;
      fill();
      return AsyncReads.answer(first);
    }

    private void fill() {
      while (reads != null && asked < keys.size() && asked - taken < READ_AHEAD) {
        String key = keys.get(asked++);
        ahead.add(AsyncReads.start(reads, () -> target.get(key)));
      }
    }

    /** The restore ends: what was read ahead and not taken is dropped. */
    void cancel() {
      ahead.forEach(bytes -> bytes.cancel(false));
      ahead.clear();
    }
  }

  /** Lets SQLite recover the log beside {@code database} and checkpoint it into the file (it removes the log on close). */
  private static void applyLog(Path database) throws SQLException {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
        Statement statement = connection.createStatement()) {
      try (ResultSet row = statement.executeQuery("PRAGMA wal_checkpoint(TRUNCATE)")) {
        if (row.next() && row.getInt(1) != 0) {
          throw new SQLException("the checkpoint of the restored log was blocked");
        }
      }
    }
  }

  private static String integrityCheck(Path database) throws SQLException {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("PRAGMA integrity_check")) {
      return row.next() ? row.getString(1) : "no answer";
    }
  }

  /** Removes a database file and the log and index SQLite may keep beside it. */
  static void deleteDatabase(Path database) throws IOException {
    Files.deleteIfExists(database);
    Files.deleteIfExists(database.resolveSibling(database.getFileName() + "-wal"));
    Files.deleteIfExists(database.resolveSibling(database.getFileName() + "-shm"));
    Files.deleteIfExists(database.resolveSibling(database.getFileName() + "-journal"));
  }
}
