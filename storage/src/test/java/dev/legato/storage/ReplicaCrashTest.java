package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.legato.storage.replica.FileTarget;
import dev.legato.storage.replica.NodeLog;
import dev.legato.storage.replica.ReplicaTarget;
import dev.legato.storage.replica.Restorer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import net.jpountz.lz4.LZ4FrameInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kills a child JVM that writes with replication on (to a folder outside its data directory) with SIGKILL at
 * random moments, restarting it on the same data directory each time, so each start begins a new generation.
 * After every kill each database file is restored from the replica alone into an empty folder, and must pass
 * {@code integrity_check}, hold no torn atomic write, hold nothing the local files do not (no phantom data),
 * and hold what the mode promises: sync, every acknowledged write; async, every write acknowledged longer
 * than the sync interval and a second before the kill. The replica's generations keep Litestream's rules
 * (a snapshot first, indices and offsets without gaps, times in order, the newest name the newest data),
 * and the stock {@code litestream restore} restores one thread's files to the same rows.
 */
class ReplicaCrashTest {
  private static final int IDS = 6;
  private static final int KILLS = 12;
  private static final Duration SYNC_INTERVAL = Duration.ofMillis(200);
  /** Async: what was acknowledged longer than the sync interval and this before the kill is in the replica. */
  private static final Duration MARGIN = Duration.ofSeconds(1);
  private static final Pattern SNAPSHOT = Pattern.compile("snapshots/([0-9a-f]{8})\\.snapshot\\.lz4");
  private static final Pattern SEGMENT = Pattern.compile("wal/([0-9a-f]{8})_([0-9a-f]{8})\\.wal\\.lz4");
  private static final Pattern BATCH = Pattern.compile("(r\\d+b\\d+)i\\d+");

  /** Every child still running, killed by the test, after each test, and when this JVM exits. */
  private static final Set<Process> CHILDREN = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> CHILDREN.forEach(Process::destroyForcibly)));
  }

  @TempDir Path dataDir;
  @TempDir Path replicas;
  @TempDir Path scratch;

  @AfterEach
  void killLeftovers() throws InterruptedException {
    for (Process child : CHILDREN) {
      child.destroyForcibly();
      child.waitFor(30, TimeUnit.SECONDS);
      CHILDREN.remove(child);
    }
  }

  @ParameterizedTest(name = "{0} mode")
  @ValueSource(strings = {"sync", "async"})
  void everyFileRestoresFromTheReplicaAloneAfterEachSigkillWithWhatTheModePromises(String mode) throws Exception {
    boolean sync = mode.equals("sync");
    Random random = new Random(sync ? 7 : 11);
    String config = "legato.storage.replica { mode = " + mode + ", sync-interval = " + SYNC_INTERVAL.toMillis()
        + "ms, checkpoint-size = 64KiB, folder = \"" + replicas + "\" }\n"
        // sync: five open files for six ids, so files are closed (capturing and checkpointing) and reopened (a
        // new WAL index) all the time; async: all stay open, so what ships is what the sync interval ships
        + "legato.storage.max-open-databases = " + (sync ? 5 : 16) + "\n";
    ReplicaTarget target = new FileTarget(replicas);
    StorageLayout layout = new StorageLayout(dataDir);
    List<String> ids = CrashWriter.persistenceIds(IDS);
    History history = new History();

    long began = System.nanoTime();
    for (int run = 1; run <= KILLS; run++) {
      Child child = Child.start(dataDir, IDS, run, config);
      long killedAt;
      try {
        if (run % 4 == 0) {
          Thread.sleep(random.nextInt(2500)); // anywhere in start-up, recovery, the first captures, writing
        } else {
          assertTrue(child.firstAck.await(60, TimeUnit.SECONDS), "run " + run + ": no write acknowledged; " + child.log());
          // in the middle of writing and shipping; every fourth run long enough that async mode owes something
          Thread.sleep(run % 4 == 2 ? 1300 + random.nextInt(1200) : 100 + random.nextInt(900));
        }
      } finally {
        killedAt = System.nanoTime();
        child.kill();
      }
      long deadline = sync ? Long.MAX_VALUE : killedAt - SYNC_INTERVAL.plus(MARGIN).toNanos();
      for (String id : ids) {
        for (Child.Ack ack : child.acks(id)) {
          history.acked.merge(id, ack.seq(), Math::max);
          if (ack.atNanos() <= deadline) {
            history.required.merge(id, ack.seq(), Math::max);
          }
        }
      }
      history.kills++;
      verifyAfterKill(run, sync, child, target, layout, ids, history, run % 4 == 0 || run == KILLS);
    }
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - began);

    long required = history.required.values().stream().mapToLong(Long::longValue).sum();
    assertTrue(required > IDS * 10L, "the replica had to hold a fair amount: " + history.required);
    assertTrue(history.required.size() == IDS, "every id had writes the replica had to hold: " + history.required);
    assertTrue(history.memoryRootsRestored > 0, "memory.db files were restored and checked");
    assertTrue(history.litestreamRestores >= 2, "the stock litestream restored files too");
    assertTrue(history.folded > 0, "kills left stored segments in the node log only, and folding it copied them");
    System.out.printf("ReplicaCrashTest %s: %d kills, %d generations, %d restores (%d by litestream), %d events acknowledged,"
            + " %d required in the replica, %d segments folded from node logs, %d s%n", mode, history.kills,
        history.generations.values().stream().mapToInt(Set::size).sum(), history.restores, history.litestreamRestores,
        history.acked.values().stream().mapToLong(Long::longValue).sum(), required, history.folded, seconds);
  }

  /** What the runs so far acknowledged and left behind. */
  private static final class History {
    int kills;
    int restores;
    int memoryRootsRestored;
    int litestreamRestores;
    int folded;
    /** Per id, the highest sequence number ever acknowledged. */
    final Map<String, Long> acked = new HashMap<>();
    /** Per id, the highest sequence number the replica must hold. */
    final Map<String, Long> required = new HashMap<>();
    /** Per id, the highest sequence number on disk after the last kill. */
    final Map<String, Long> onDisk = new HashMap<>();
    /** Per replica root, the generations seen after the last kill. */
    final Map<String, Set<String>> generations = new HashMap<>();
  }

  private void verifyAfterKill(int run, boolean sync, Child child, ReplicaTarget target, StorageLayout layout, List<String> ids,
                               History history, boolean withLitestream) throws Exception {
    // The local files as the kill left them, copied so that opening them here changes nothing the next run sees.
    Path local = copyTree(dataDir, scratch.resolve("run-" + run).resolve("local"));
    Path restored = scratch.resolve("run-" + run).resolve("restored");
    Map<String, Long> onDiskBefore = new HashMap<>(history.onDisk);

    // Local: the next process recovers exactly what the last one left (and did not restore an older replica).
    Map<String, TreeMap<Long, String>> localJournals = new HashMap<>();
    for (String id : ids) {
      Long recovered = child.recovered.get(id);
      if (recovered != null) {
        assertEquals(onDiskBefore.getOrDefault(id, 0L), recovered, "run " + run + ": recovery of " + id);
      }
      Path file = local.resolve(layout.replicaRoot(layout.locate(id).database()));
      TreeMap<Long, String> journal = Files.exists(file) ? journal(file) : new TreeMap<>();
      long highest = journal.isEmpty() ? 0 : journal.lastKey();
      assertEquals(journal.size(), highest, "run " + run + ": the local journal of " + id + " has gaps");
      assertTrue(highest >= history.acked.getOrDefault(id, 0L), "run " + run + ": " + id + " lost acknowledged writes locally");
      history.onDisk.put(id, highest);
      localJournals.put(id, journal);
    }

    // What the next process does before it opens a file: the killed one's last batches, maybe in its log only,
    // go into the files' layouts (where Legato's restorer and the stock Litestream read).
    NodeLog.Fold fold = NodeLog.foldAll(target);
    assertTrue(fold.problems().isEmpty(), "run " + run + ": folding the node logs: " + fold.problems());
    history.folded += fold.segmentsCopied();

    Set<String> roots = replicaRoots();
    for (String id : ids) {
      StorageLayout.Location location = layout.locate(id);
      String sessionRoot = layout.replicaRoot(location.database());
      long required = history.required.getOrDefault(id, 0L);
      if (required > 0) {
        assertTrue(roots.contains(sessionRoot), "run " + run + ": no replica of " + sessionRoot + " though " + required
            + " events of " + id + " must be in it; replicas: " + roots);
      }
      if (location.type().equals(StorageLayout.THREAD_TYPE) && !memoryKeys(localJournals.get(id), required).isEmpty()) {
        assertTrue(roots.contains(layout.replicaRoot(location.memoryDatabase())), "run " + run + ": no replica of memory.db of " + id);
      }
    }

    for (String root : roots) {
      String id = idOf(root, ids, layout);
      boolean memory = root.endsWith("/" + StorageLayout.MEMORY_FILE);
      List<String> generations = checkGenerations(target, root, run);
      Set<String> fresh = new TreeSet<>(generations);
      fresh.removeAll(history.generations.getOrDefault(root, Set.of()));
      history.generations.put(root, new TreeSet<>(generations));
      assertTrue(fresh.size() <= 1, "run " + run + ": one process began " + fresh.size() + " generations of " + root);
      if (sync) {
        // a write acknowledged in sync mode is stored: this run captured the file, in a generation of its own
        long before = onDiskBefore.getOrDefault(id, 0L);
        long ackedNow = child.acks(id).stream().mapToLong(Child.Ack::seq).max().orElse(0);
        boolean wroteThisFile = ackedNow > before && (!memory
            || memoryKeys(localJournals.get(id), ackedNow).size() > memoryKeys(localJournals.get(id), before).size());
        if (wroteThisFile) {
          assertEquals(1, fresh.size(), "run " + run + ": the restarted process began a generation of " + root);
        }
      }
      // the local file's mark names its newest generation: a restart never takes the replica for newer
      if (!generations.isEmpty()) {
        Path marker = local.resolve(root + ".generation");
        assertTrue(Files.exists(marker), "run " + run + ": " + root + " has a replica but no generation mark");
        String mark = Files.readString(marker).trim();
        assertTrue(mark.compareTo(generations.get(generations.size() - 1)) >= 0,
            "run " + run + ": the mark " + mark + " of " + root + " is older than its replica's " + generations);
      }

      Path out = restored.resolve(root);
      Restorer.Result result = Restorer.restoreInto(target, root, null, null, out);
      history.restores++;
      assertTrue(result.complete(), "run " + run + ": restore of " + root + ": " + result.problem());
      assertEquals("ok", result.integrity(), "run " + run + ": integrity of the restored " + root);
      long required = history.required.getOrDefault(id, 0L);
      TreeMap<Long, String> localJournal = localJournals.get(id);
      if (memory) {
        history.memoryRootsRestored++;
        checkRestoredMemory(run, root, out, local.resolve(root), memoryKeys(localJournal, required));
      } else {
        checkRestoredJournal(run, root, out, local.resolve(root), localJournal, required);
      }
    }

    // The stock Litestream restores the first thread's files from the same replica to the same rows.
    if (withLitestream) {
      StorageLayout.Location first = layout.locate(ids.get(0));
      for (Path file : List.of(first.database(), first.memoryDatabase())) {
        String root = layout.replicaRoot(file);
        if (roots.contains(root)) {
          Path out = scratch.resolve("run-" + run).resolve("litestream").resolve(root);
          Files.createDirectories(out.getParent());
          Litestream.restore(Litestream.binary(), target.litestreamUrl(root), out);
          history.litestreamRestores++;
          assertEquals(ReplicaDumps.dump(restored.resolve(root)), ReplicaDumps.dump(out), "run " + run + ": litestream's " + root);
        }
      }
    }
  }

  /**
   * Checks every generation of a replica against Litestream's rules and returns their names, oldest first:
   * a snapshot at index 0 (and compaction's at indices the log reached); WAL indices from 0 without a gap, each from offset 0, each segment starting where
   * the one before ended; object times never going back; and the greatest name holding the newest object
   * (Legato's restorer picks the greatest name, Litestream the newest object: they must agree).
   */
  private static List<String> checkGenerations(ReplicaTarget target, String root, int run) throws IOException {
    List<String> names = new ArrayList<>(target.children(root + "/generations/"));
    Instant newest = Instant.MIN;
    String newestHolder = null;
    for (String name : names) {
      assertTrue(name.matches("[0-9a-f]{16}"), "run " + run + ": generation name " + name);
      String prefix = root + "/generations/" + name + "/";
      List<ReplicaTarget.Entry> objects = target.list(prefix);
      ReplicaTarget.Entry snapshot = null;
      List<Integer> compactions = new ArrayList<>();
      TreeMap<Integer, TreeMap<Long, ReplicaTarget.Entry>> wal = new TreeMap<>();
      for (ReplicaTarget.Entry object : objects) {
        String rest = object.key().substring(prefix.length());
        Matcher s = SNAPSHOT.matcher(rest);
        Matcher w = SEGMENT.matcher(rest);
        if (s.matches()) {
          int index = Integer.parseInt(s.group(1), 16);
          if (index == 0) {
            snapshot = object; // the generation's start; later ones are compaction's, checked below
          } else {
            compactions.add(index);
          }
        } else if (w.matches()) {
          wal.computeIfAbsent(Integer.parseInt(w.group(1), 16), i -> new TreeMap<>()).put(Long.parseLong(w.group(2), 16), object);
        } else {
          fail("run " + run + ": an object Litestream would not read: " + object.key());
        }
      }
      String where = "run " + run + ", " + prefix + ": ";
      assertNotNull(snapshot, where + "no snapshot at index 0 among " + objects);
      int lastIndex = wal.isEmpty() ? 0 : wal.lastKey();
      for (int index : compactions) {
        // a compaction snapshot begins an index: one the log reached, or the next one, not written to yet
        assertTrue(index <= lastIndex + 1, where + "a snapshot at index " + index + " beyond the log " + wal.keySet());
      }
      Instant previous = snapshot.time();
      int expectedIndex = 0;
      for (Map.Entry<Integer, TreeMap<Long, ReplicaTarget.Entry>> index : wal.entrySet()) {
        assertEquals(expectedIndex++, index.getKey(), where + "WAL indices " + wal.keySet());
        long expectedOffset = 0;
        for (Map.Entry<Long, ReplicaTarget.Entry> segment : index.getValue().entrySet()) {
          assertEquals(expectedOffset, segment.getKey(), where + "a gap before " + segment.getValue().key());
          expectedOffset += decompress(target.get(segment.getValue().key())).length;
          assertTrue(!segment.getValue().time().isBefore(previous), where + "times go back at " + segment.getValue());
          previous = segment.getValue().time();
        }
      }
      assertTrue(previous.isAfter(newest), where + "its newest object (" + previous + ") is not newer than those of "
          + newestHolder + " (" + newest + "), whose name is smaller");
      newest = previous;
      newestHolder = name;
    }
    return names;
  }

  private static byte[] decompress(byte[] object) throws IOException {
    try (LZ4FrameInputStream in = new LZ4FrameInputStream(new java.io.ByteArrayInputStream(object))) {
      return in.readAllBytes();
    }
  }

  /** A restored session.db or journal.db: a prefix of the local journal, whole batches, at least what is required. */
  private static void checkRestoredJournal(int run, String root, Path restored, Path local, TreeMap<Long, String> localJournal,
                                           long required) throws Exception {
    String where = "run " + run + ", restored " + root + ": ";
    TreeMap<Long, String> journal = journal(restored);
    long highest = journal.isEmpty() ? 0 : journal.lastKey();
    assertEquals(journal.size(), highest, where + "sequence numbers with gaps");
    assertTrue(highest >= required, where + "holds events to " + highest + " but " + required + " were acknowledged"
        + " (sync: at all; async: long enough before the kill)");
    for (Map.Entry<Long, String> event : journal.entrySet()) {
      assertEquals(localJournal.get(event.getKey()), event.getValue(), where + "event " + event.getKey() + " differs from the local file's");
    }
    assertNoTornBatch(where, journal.values().stream().map(ReplicaCrashTest::payloadWords).toList());
    if (root.endsWith("/" + StorageLayout.SESSION_FILE)) {
      Map<String, String> messages = rows(restored, "SELECT * FROM messages");
      Map<String, String> localMessages = rows(local, "SELECT * FROM messages");
      messages.forEach((id, row) -> assertEquals(localMessages.get(id), row, where + "message " + id + " differs from the local one"));
      long memoryEvents = journal.values().stream().filter(p -> payloadWords(p)[0].equals("memory")).count();
      assertEquals(journal.size() - memoryEvents, messages.size(), where + "the read side commits with the events");
      long memorySeq = Long.parseLong(rows(restored, "SELECT id, memory_seq FROM journal_meta").getOrDefault("1", "1|0").split("\\|")[1]);
      long localMemorySeq = Long.parseLong(rows(local, "SELECT id, memory_seq FROM journal_meta").getOrDefault("1", "1|0").split("\\|")[1]);
      assertTrue(memorySeq <= localMemorySeq, where + "memory_seq " + memorySeq + " is ahead of the local " + localMemorySeq);
    }
  }

  /** A restored memory.db: only memories the local file holds, whole batches, every required one. */
  private static void checkRestoredMemory(int run, String root, Path restored, Path local, Set<String> requiredKeys)
      throws Exception {
    String where = "run " + run + ", restored " + root + ": ";
    Map<String, String> memories = rows(restored, "SELECT key, value, metadata, created_at, updated_at, source_seq FROM memories");
    Map<String, String> localMemories = rows(local, "SELECT key, value, metadata, created_at, updated_at, source_seq FROM memories");
    memories.forEach((key, row) -> assertEquals(localMemories.get(key), row, where + "memory " + key + " differs from the local one"));
    for (String key : requiredKeys) {
      assertTrue(memories.containsKey(key), where + "the acknowledged memory " + key + " is missing");
    }
    // every batch's memories come together: its odd-numbered events, (size + 1) / 2 of them
    Map<String, int[]> batches = new HashMap<>();
    for (Map.Entry<String, String> memory : memories.entrySet()) {
      Matcher m = BATCH.matcher(memory.getKey());
      assertTrue(m.matches(), where + "unexpected memory " + memory.getKey());
      int size = Integer.parseInt(memory.getValue().split("\\|")[1].substring(1));
      batches.computeIfAbsent(m.group(1), b -> new int[] {0, (size + 1) / 2})[0]++;
    }
    batches.forEach((batch, seen) -> assertEquals(seen[1], seen[0], where + "the memories of batch " + batch + " are torn"));
  }

  private static void assertNoTornBatch(String where, List<String[]> payloads) {
    Map<String, int[]> batches = new HashMap<>();
    for (String[] words : payloads) {
      int size = Integer.parseInt(words[8]);
      batches.computeIfAbsent(words[5] + "/" + words[6], b -> new int[] {0, size})[0]++;
    }
    batches.forEach((batch, seen) -> assertEquals(seen[1], seen[0], where + "atomic write " + batch + " is torn"));
  }

  /** The memory keys of the memory events up to {@code seq} in a journal (as read by {@link #journal}). */
  private static Set<String> memoryKeys(TreeMap<Long, String> journal, long seq) {
    Set<String> keys = new TreeSet<>();
    for (String payload : journal.headMap(seq, true).values()) {
      String[] words = payloadWords(payload);
      if (words[0].equals("memory")) {
        keys.add(words[1]);
      }
    }
    return keys;
  }

  /** The journal of a file: sequence number to the whole row, as text (the payload last). */
  private static TreeMap<Long, String> journal(Path database) throws Exception {
    TreeMap<Long, String> journal = new TreeMap<>();
    rows(database, "SELECT seq, written_at, writer_uuid, adapter_manifest, ser_id, ser_manifest, tags, payload FROM journal")
        .forEach((seq, row) -> journal.put(Long.parseLong(seq), row));
    return journal;
  }

  private static String[] payloadWords(String journalRow) {
    return journalRow.substring(journalRow.lastIndexOf('|', journalRow.length() - 2) + 1, journalRow.length() - 1).split(" ");
  }

  /** Rows by their first column, each as its columns joined with {@code |} (blobs as UTF-8 text). */
  private static Map<String, String> rows(Path database, String sql) throws Exception {
    Map<String, String> rows = new LinkedHashMap<>();
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
        Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(sql)) {
      ResultSetMetaData meta = result.getMetaData();
      while (result.next()) {
        StringBuilder row = new StringBuilder();
        for (int c = 1; c <= meta.getColumnCount(); c++) {
          Object value = result.getObject(c);
          row.append(value instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(value)).append('|');
        }
        rows.put(result.getString(1), row.toString());
      }
    }
    return rows;
  }

  /** The replica roots in the folder: every path below it that holds a {@code generations} folder. */
  private Set<String> replicaRoots() throws IOException {
    Set<String> roots = new TreeSet<>();
    try (Stream<Path> paths = Files.walk(replicas)) {
      paths.filter(p -> Files.isDirectory(p) && p.getFileName().toString().equals("generations"))
          .forEach(p -> roots.add(replicas.relativize(p.getParent()).toString().replace(java.io.File.separatorChar, '/')));
    }
    return roots;
  }

  private static String idOf(String root, List<String> ids, StorageLayout layout) {
    for (String id : ids) {
      StorageLayout.Location location = layout.locate(id);
      if (root.equals(layout.replicaRoot(location.database())) || root.equals(layout.replicaRoot(location.memoryDatabase()))) {
        return id;
      }
    }
    throw new AssertionError("a replica of no writer's file: " + root);
  }

  private static Path copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path path : (Iterable<Path>) paths::iterator) {
        Path copy = to.resolve(from.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(copy);
        } else {
          Files.copy(path, copy);
        }
      }
    }
    return to;
  }

  /** A child JVM running {@link CrashWriter}, with when each acknowledgement reached this process. */
  private static final class Child {
    record Ack(long seq, long atNanos) {}

    final Process process;
    final Map<String, List<Ack>> acks = new ConcurrentHashMap<>();
    final Map<String, Long> recovered = new ConcurrentHashMap<>();
    final CountDownLatch firstAck = new CountDownLatch(1);
    final Deque<String> otherLines = new ArrayDeque<>();
    final Thread reader;

    private Child(Process process) {
      this.process = process;
      this.reader = new Thread(this::read, "replica-crash-child-reader");
      reader.start();
    }

    static Child start(Path dataDir, int ids, int run, String config) throws IOException {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      ProcessBuilder builder = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1",
          "-cp", System.getProperty("java.class.path"), CrashWriter.class.getName(),
          dataDir.toString(), String.valueOf(ids), String.valueOf(run), config, "memories");
      builder.redirectErrorStream(true);
      Process process = builder.start();
      CHILDREN.add(process);
      return new Child(process);
    }

    List<Ack> acks(String id) {
      return acks.getOrDefault(id, List.of());
    }

    private void read() {
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          long now = System.nanoTime();
          String[] words = line.split(" ");
          if (words.length == 3 && words[0].equals("ACK")) {
            acks.computeIfAbsent(words[1], id -> new CopyOnWriteArrayList<>()).add(new Ack(Long.parseLong(words[2]), now));
            firstAck.countDown();
          } else if (words.length == 3 && words[0].equals("RECOVERED")) {
            recovered.put(words[1], Long.parseLong(words[2]));
          } else {
            synchronized (otherLines) {
              otherLines.addLast(line);
              if (otherLines.size() > 40) {
                otherLines.removeFirst();
              }
            }
          }
        }
      } catch (IOException ignored) {
        // the process was killed
      }
    }

    String log() {
      synchronized (otherLines) {
        return "the child's last log lines:\n" + String.join("\n", otherLines);
      }
    }

    /** SIGKILL, then wait until everything it printed has been read. */
    void kill() throws InterruptedException {
      process.destroyForcibly();
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the child did not die");
      CHILDREN.remove(process);
      reader.join(30_000);
    }
  }
}
