package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention with the clock in the test's hands: a file written through its replica (the way its writer drives
 * it) into a folder and into S3 (s3proxy), then pruned and swept as if {@code now} were a chosen moment. A
 * restore at every moment of the window still gives the state then; what goes is exactly what no moment of the
 * window needs; a deleted file's replica goes once retention has passed since the deletion, not a millisecond
 * before, unless the file was restored and written since.
 */
class RetentionTest {
  private static final Duration RETENTION = Duration.ofDays(1);
  private static S3ProxyServer s3;

  @TempDir Path dir;
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private Replication replication;
  private ReplicaTarget target;
  private String kind;

  @BeforeAll
  static void startS3() throws Exception {
    s3 = S3ProxyServer.start();
  }

  @AfterAll
  static void stopS3() {
    if (s3 != null) {
      s3.close();
    }
  }

  static Stream<String> targets() {
    return Stream.of("folder", "s3");
  }

  @AfterEach
  void tearDown() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  /** A target of the kind, and the node's replication to it: sync mode, small checkpoints, retention of a day. */
  private void start(String kind) {
    this.kind = kind;
    target = newTarget();
    // a day of retention: the prunes and sweeps the replication runs by itself on the real clock touch nothing
    replication = new Replication(new Replication.Settings(Replication.Mode.SYNC, Duration.ofMillis(50), 16 * 1024, 2,
        Duration.ofMillis(10), Duration.ofMillis(100), 64 << 20, RETENTION, Duration.ofSeconds(2), Duration.ofHours(1),
        Duration.ofMillis(50), 1 << 20, 0),
        target);
    toClose.add(replication);
  }

  private String prefix;

  /** Another client of the same store (another node's view of it). */
  private ReplicaTarget newTarget() {
    if (kind.equals("folder")) {
      return new FileTarget(dir.resolve("replicas"));
    }
    if (prefix == null) {
      prefix = "retention-" + UUID.randomUUID();
    }
    return new S3Target(s3.settings(prefix));
  }

  // ---- live files ---------------------------------------------------------------------------------------

  @ParameterizedTest
  @MethodSource("targets")
  void pruningKeepsEveryMomentOfTheWindowRestorableAndRemovesWhatNoMomentOfItNeeds(String kind) throws Exception {
    start(kind);
    String root = "sessions/" + UUID.randomUUID() + "/session.db";
    Path database = dir.resolve("session.db");
    History history = new History(root);

    // generation A, compacted once; the pauses put the phases in different seconds (S3 keeps whole seconds)
    ReplicatedFile file = new ReplicatedFile(root, database);
    file.commitUntil(history, objects -> snapshots(objects).stream().anyMatch(s -> s.index() > 0));
    file.commit(history);
    file.close();
    Thread.sleep(1100);
    // a new writer: generation B, its first snapshot
    file = new ReplicatedFile(root, database);
    file.commit(history);
    List<String> generations = target.children(ReplicaLayout.generations(root));
    assertEquals(2, generations.size(), generations.toString());
    String a = generations.get(0);
    String b = generations.get(1);
    Instant b0 = object(root, b, 0, true).time();
    Thread.sleep(1100);
    // B compacted once (snapshot j), a pause, then once more
    file.commitUntil(history, objects -> snapshotsOf(objects, b).stream().anyMatch(s -> s.index() > 0));
    ReplicaLayout.Position j = snapshotsOf(target.list(ReplicaLayout.generations(root)), b).stream()
        .filter(s -> s.index() > 0).findFirst().orElseThrow();
    Instant bj = object(root, b, j.index(), true).time();
    Thread.sleep(1100);
    file.commitUntil(history, objects -> snapshotsOf(objects, b).stream().anyMatch(s -> s.index() > j.index()));
    file.commit(history);
    history.assertRestoresFrom(history.first(), "before any pruning");

    // window from just before B's first snapshot: A's last snapshot serves its start; A's objects before it go
    List<ReplicaTarget.Entry> before = target.list(ReplicaLayout.generations(root));
    int aLast = snapshotsOf(before, a).stream().mapToInt(ReplicaLayout.Position::index).max().orElseThrow();
    assertTrue(aLast > 0, "A was compacted");
    prune(root, b0.minusMillis(1));
    assertEquals(keys(before, k -> !inGeneration(root, a, k) || indexOf(k) >= aLast),
        keys(target.list(ReplicaLayout.generations(root)), k -> true), "A's objects before its last snapshot went");
    history.assertRestoresFrom(b0.minusMillis(1), "window from just before B began");

    // window from B's first snapshot: every moment of it is B's, and A goes whole
    prune(root, b0);
    assertEquals(List.of(b), target.children(ReplicaLayout.generations(root)));
    assertEquals(keys(before, k -> inGeneration(root, b, k)), keys(target.list(ReplicaLayout.generations(root)), k -> true));
    history.assertRestoresFrom(b0, "window from B's first snapshot");

    // until B's compaction snapshot is in the window, nothing more goes: a moment before it needs B's start
    prune(root, bj.minusMillis(1));
    assertEquals(keys(before, k -> inGeneration(root, b, k)), keys(target.list(ReplicaLayout.generations(root)), k -> true));
    history.assertRestoresFrom(bj.minusMillis(1), "window from just before B's compaction");

    // from it on, B's objects before it go, and a moment before the window has no state left
    prune(root, bj);
    assertEquals(keys(before, k -> inGeneration(root, b, k) && indexOf(k) >= j.index()),
        keys(target.list(ReplicaLayout.generations(root)), k -> true));
    history.assertRestoresFrom(bj, "window from B's compaction");
    IOException gone = assertThrows(IOException.class,
        () -> Restorer.restoreInto(target, root, null, bj.minusMillis(1), dir.resolve("too-early.db")));
    assertTrue(gone.getMessage().contains("as early as"), gone.getMessage());

    // long after the last write: only B's last snapshot and what follows it stay, and the newest state is there
    List<ReplicaTarget.Entry> beforeLast = target.list(ReplicaLayout.generations(root));
    int bLast = snapshots(beforeLast).stream().mapToInt(ReplicaLayout.Position::index).max().orElseThrow();
    assertTrue(bLast > j.index(), "B was compacted again");
    Instant last = beforeLast.stream().map(ReplicaTarget.Entry::time).max(Instant::compareTo).orElseThrow();
    prune(root, last.plus(Duration.ofDays(30)));
    assertEquals(keys(beforeLast, k -> indexOf(k) >= bLast), keys(target.list(ReplicaLayout.generations(root)), k -> true));
    history.assertRestoresFrom(last, "the newest state");
    Path newest = dir.resolve("newest.db");
    assertTrue(Restorer.restoreInto(target, root, null, null, newest).complete());
    assertEquals(history.rows(history.commits.size()), rows(newest));
    file.close();
  }

  private void prune(String root, Instant windowStart) throws IOException {
    replication.retention().prune(root, windowStart.plus(RETENTION));
  }

  // ---- deleted files ------------------------------------------------------------------------------------

  @ParameterizedTest
  @MethodSource("targets")
  void aDeletedFilesReplicaIsPurgedOnceRetentionHasPassedSinceItsDeletionAndNotAMillisecondBefore(String kind)
      throws Exception {
    start(kind);
    UUID thread = UUID.randomUUID();
    List<String> roots = List.of("sessions/" + thread + "/session.db", "sessions/" + thread + "/memory.db");
    List<Instant> deletedAt = new ArrayList<>();
    for (String root : roots) {
      ReplicatedFile file = new ReplicatedFile(root, dir.resolve(root.substring(root.lastIndexOf('/') + 1)));
      History history = new History(root);
      for (int i = 0; i < 5; i++) {
        file.commit(history);
      }
      deletedAt.add(file.delete().at());
    }
    assertEquals(List.of(thread.toString()), target.children("sessions/"), "the index of deletions is no replica");
    assertEquals(2, target.list(Retention.DELETIONS).size(), target.list(Retention.DELETIONS).toString());
    Instant lastDeletion = deletedAt.stream().max(Instant::compareTo).orElseThrow();

    Retention.Sweep early = replication.retention().sweep(lastDeletion.plus(RETENTION).minusMillis(1));
    assertEquals(new Retention.Sweep(1, 0, 0, null, false), early, "the first file's deletion is a retention old");
    assertEquals(List.of(), target.list(roots.get(0) + "/"));
    String youngest = roots.get(1);
    assertFalse(target.list(youngest + "/").isEmpty(), "kept until retention has passed since its deletion");
    assertTrue(Restorer.restoreInto(target, youngest, null, null, dir.resolve("still.db")).complete());
    assertEquals(1, target.list(Retention.DELETIONS).size(), "its deletion waits in the index");

    // two nodes sweep the same target at once: both finish without a failure, and everything is gone
    ReplicaTarget other = newTarget();
    toClose.add(other);
    Retention otherNode = new Retention(other, RETENTION);
    ExecutorService nodes = Executors.newFixedThreadPool(2);
    try {
      Instant now = lastDeletion.plus(RETENTION);
      Future<Retention.Sweep> first = nodes.submit(() -> replication.retention().sweep(now));
      Future<Retention.Sweep> second = nodes.submit(() -> otherNode.sweep(now));
      for (Future<Retention.Sweep> sweep : List.of(first, second)) {
        Retention.Sweep done = sweep.get(60, TimeUnit.SECONDS);
        assertEquals(0, done.failed(), String.valueOf(done.firstFailure()));
      }
    } finally {
      nodes.shutdownNow();
    }
    for (String root : roots) {
      assertEquals(List.of(), target.list(root + "/"), root + ": every object below the root, the mark too");
    }
    assertEquals(List.of(), target.list(Retention.DELETIONS), "the index entries went with them");
    Retention.Sweep again = replication.retention().sweep(lastDeletion.plus(RETENTION.multipliedBy(2)));
    assertEquals(new Retention.Sweep(0, 0, 0, null, false), again);
  }

  @ParameterizedTest
  @MethodSource("targets")
  void aFileRestoredAndWrittenAfterItsDeletionKeepsItsReplicaAndRetentionCountsFromItsLastDeletion(String kind)
      throws Exception {
    start(kind);
    String root = "sessions/" + UUID.randomUUID() + "/session.db";
    Path database = dir.resolve("session.db");
    History history = new History(root);
    ReplicatedFile file = new ReplicatedFile(root, database);
    for (int i = 0; i < 5; i++) {
      file.commit(history);
    }
    Instant firstDeletion = file.delete().at();

    // an operator restores it in place and it is written again: its writer begins a newer generation
    Restorer.restoreInto(target, root, null, null, database);
    file = new ReplicatedFile(root, database);
    file.commit(history);
    List<String> generations = target.children(ReplicaLayout.generations(root));
    assertEquals(2, generations.size(), generations.toString());

    Retention.Sweep sweep = replication.retention().sweep(firstDeletion.plus(RETENTION).plusSeconds(3600));
    assertEquals(new Retention.Sweep(0, 1, 0, null, false), sweep);
    assertEquals(generations, target.children(ReplicaLayout.generations(root)), "the replica stays whole");
    assertEquals(List.of(), target.list(Retention.DELETIONS), "the deletion is done with");
    Path restored = dir.resolve("restored.db");
    assertTrue(Restorer.restoreInto(target, root, null, null, restored).complete());
    assertEquals(history.rows(history.commits.size()), rows(restored), "every row, the one written after the restore too");

    // deleted again, restored and written again, deleted a third time before any sweep. On the same day the third
    // deletion's entry replaces the second's; had the second been a day earlier, its entry would remain, naming
    // a generation the mark no longer names: its retention must not count, only the third deletion's
    Deletion second = file.delete();
    Restorer.restoreInto(target, root, null, null, database);
    file = new ReplicatedFile(root, database);
    file.commit(history);
    Instant thirdDeletion = file.delete().at();
    assertEquals(1, target.list(Retention.DELETIONS).size(), "one entry per file and day: the last deletion's");
    Instant dayBefore = second.at().minus(Duration.ofDays(1));
    target.put(Retention.deletionKey(root, dayBefore), Retention.deletionRecord(second.generation(), dayBefore), dayBefore);
    generations = target.children(ReplicaLayout.generations(root));
    assertEquals(3, generations.size(), generations.toString());
    assertEquals(new Retention.Sweep(0, 1, 0, null, false), replication.retention().sweep(dayBefore.plus(RETENTION)));
    assertEquals(generations, target.children(ReplicaLayout.generations(root)));
    assertEquals(1, target.list(Retention.DELETIONS).size(), "the third deletion waits");
    assertEquals(new Retention.Sweep(0, 0, 0, null, false),
        replication.retention().sweep(thirdDeletion.plus(RETENTION).minusMillis(1)));
    assertEquals(generations, target.children(ReplicaLayout.generations(root)));
    assertEquals(new Retention.Sweep(1, 0, 0, null, false), replication.retention().sweep(thirdDeletion.plus(RETENTION)));
    assertEquals(List.of(), target.list(root + "/"));
    assertEquals(List.of(), target.list(Retention.DELETIONS));
  }

  // ---- a file written through its replica ----------------------------------------------------------------

  /** One database file and its replica, driven as its writer drives them: one thread owns the connection. */
  private final class ReplicatedFile {
    final String root;
    final Path database;
    final ExecutorService writer = Executors.newSingleThreadExecutor();
    final DbReplica replica;
    Connection connection;

    ReplicatedFile(String root, Path database) throws Exception {
      this.root = root;
      this.database = database;
      replication.forget(root); // a new writer of the file, as after a restart
      replica = replication.replica(root, database, "main");
      toClose.add(() -> writer.shutdownNow());
      onWriter(() -> {
        replica.beforeOpen(work -> writer.execute(() -> work.accept(connection)));
        connection = DriverManager.getConnection("jdbc:sqlite:" + database);
        try (Statement s = connection.createStatement()) {
          s.execute("PRAGMA journal_mode = WAL");
          s.execute("PRAGMA wal_autocheckpoint = 0");
          s.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, body BLOB)");
        }
        replica.opened(connection);
        return null;
      });
    }

    /** Commits the next row; returns once it and whatever it caused (a checkpoint, a snapshot) is stored. */
    void commit(History history) throws Exception {
      int n = history.commits.size() + 1;
      byte[] body = new byte[3000];
      new Random(n).nextBytes(body);
      CompletableFuture<Void> stored = onWriter(() -> {
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO t (n, body) VALUES (?, ?)")) {
          insert.setInt(1, n);
          insert.setBytes(2, body);
          insert.execute();
        }
        return replica.committed(connection);
      });
      stored.get(30, TimeUnit.SECONDS);
      assertTrue(replication.drain(Duration.ofSeconds(30)));
      history.stored(target.list(ReplicaLayout.generations(root)));
    }

    /** Commits rows until the replica's objects satisfy {@code done} (at most 400). */
    void commitUntil(History history, Predicate<List<ReplicaTarget.Entry>> done) throws Exception {
      for (int i = 0; i < 400; i++) {
        commit(history);
        if (done.test(target.list(ReplicaLayout.generations(root)))) {
          return;
        }
      }
      throw new AssertionError("no such replica after 400 commits: " + target.list(ReplicaLayout.generations(root)));
    }

    void close() throws Exception {
      onWriter(() -> {
        replica.beforeClose();
        connection.close();
        replica.closed();
        return null;
      });
      assertTrue(replication.drain(Duration.ofSeconds(30)));
    }

    /** As a thread's deletion: closed, its local files removed, its replica marked; returns what was recorded. */
    Deletion delete() throws Exception {
      close();
      onWriter(() -> {
        Restorer.deleteDatabase(database);
        Files.deleteIfExists(database.resolveSibling(database.getFileName() + ".generation"));
        replica.deleted();
        return null;
      });
      assertTrue(replication.drain(Duration.ofSeconds(30)));
      String mark = new String(target.get(root + "/deleted"), StandardCharsets.US_ASCII).trim();
      List<String[]> records = new ArrayList<>();
      for (ReplicaTarget.Entry entry : target.list(Retention.DELETIONS)) {
        String[] record = new String(target.get(entry.key()), StandardCharsets.US_ASCII).split("\n");
        if (Retention.rootOf(entry.key()).equals(root) && record[0].equals(mark)) {
          assertEquals(Retention.deletionKey(root, Instant.parse(record[1])), entry.key());
          records.add(record);
        }
      }
      assertEquals(1, records.size(), "one index entry names the generation the mark names");
      return new Deletion(mark, Instant.parse(records.get(0)[1]));
    }

    <T> T onWriter(Callable<T> work) throws Exception {
      return writer.submit(work).get(30, TimeUnit.SECONDS);
    }
  }

  record Deletion(String generation, Instant at) {}

  /**
   * Each commit of a file and the time of the WAL segment that carries it: a restore at a moment holds exactly
   * the commits whose segment was stored by then (a snapshot holds the commits of the segments before it).
   */
  private final class History {
    final String root;
    final List<Instant> commits = new ArrayList<>();
    final Set<String> seen = new HashSet<>();

    History(String root) {
      this.root = root;
    }

    void stored(List<ReplicaTarget.Entry> objects) {
      List<Instant> segments = new ArrayList<>();
      for (ReplicaTarget.Entry object : objects) {
        if (seen.add(object.key()) && ReplicaLayout.parse(object.key()).map(p -> !p.snapshot()).orElse(false)) {
          segments.add(object.time());
        }
      }
      assertEquals(1, segments.size(), "one segment per commit in sync mode: " + objects);
      commits.add(segments.get(0));
    }

    Instant first() {
      return commits.get(0);
    }

    /** The rows once {@code count} commits are in: 1 to count. */
    List<Integer> rows(int count) {
      List<Integer> rows = new ArrayList<>();
      for (int n = 1; n <= count; n++) {
        rows.add(n);
      }
      return rows;
    }

    /** How many commits a restore at {@code at} holds: those whose every object was stored by then. */
    int committedBy(Instant at) {
      int count = 0;
      for (int i = 0; i < commits.size(); i++) {
        if (!commits.get(i).isAfter(at)) {
          count = i + 1;
        }
      }
      return count;
    }

    /** A restore at {@code from} and at each commit's moment after it gives exactly the rows committed by then. */
    void assertRestoresFrom(Instant from, String when) throws Exception {
      List<Instant> moments = new ArrayList<>(List.of(from));
      commits.stream().filter(t -> t.isAfter(from)).distinct().forEach(moments::add);
      for (Instant at : moments) {
        Path out = dir.resolve("pit").resolve(UUID.randomUUID() + ".db");
        Restorer.Result result = Restorer.restoreInto(target, root, null, at, out);
        assertTrue(result.complete(), when + ", at " + at + ": " + result.problem());
        assertEquals(rows(committedBy(at)), RetentionTest.rows(out), when + ": a restore at " + at + " on " + kind);
      }
    }
  }

  /** The row numbers of a database file, checking each row's body is the one written. */
  static List<Integer> rows(Path database) throws Exception {
    List<Integer> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + database);
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT n, body FROM t ORDER BY n")) {
      while (r.next()) {
        byte[] expected = new byte[3000];
        new Random(r.getInt(1)).nextBytes(expected);
        assertTrue(java.util.Arrays.equals(expected, r.getBytes(2)), "row " + r.getInt(1) + " intact");
        rows.add(r.getInt(1));
      }
    }
    return rows;
  }

  // ---- the replica's objects ---------------------------------------------------------------------------

  private static List<ReplicaLayout.Position> snapshots(List<ReplicaTarget.Entry> objects) {
    return objects.stream().flatMap(o -> ReplicaLayout.parse(o.key()).filter(ReplicaLayout.Position::snapshot).stream())
        .toList();
  }

  private static List<ReplicaLayout.Position> snapshotsOf(List<ReplicaTarget.Entry> objects, String generation) {
    return snapshots(objects.stream().filter(o -> o.key().contains("/generations/" + generation + "/")).toList());
  }

  private ReplicaTarget.Entry object(String root, String generation, int index, boolean snapshot) throws IOException {
    String key = snapshot ? ReplicaLayout.snapshot(root, generation, index) : ReplicaLayout.segment(root, generation, index, 0);
    return target.list(key).stream().filter(o -> o.key().equals(key)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + key));
  }

  private static boolean inGeneration(String root, String generation, String key) {
    return key.startsWith(ReplicaLayout.generation(root, generation));
  }

  private static int indexOf(String key) {
    return ReplicaLayout.parse(key).orElseThrow().index();
  }

  private static List<String> keys(List<ReplicaTarget.Entry> objects, Predicate<String> which) {
    return objects.stream().map(ReplicaTarget.Entry::key).filter(which).toList();
  }
}
