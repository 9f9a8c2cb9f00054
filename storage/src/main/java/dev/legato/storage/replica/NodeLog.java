package dev.legato.storage.replica;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's log in the target: what makes a capture durable at once, for every file of the node in one
 * object. Each file's replica keeps Litestream's layout, but uploading every busy file's segment on its own
 * costs one request per file per sync interval, which a node with a thousand busy threads cannot pay (nor
 * can sync mode wait on). So captures go first into a <em>batch</em>: one object under
 * {@code logs/<writer>/<sequence>.batch} holding the segments of every file captured since the last one
 * began (sync mode: the next begins at once, so one request carries the transactions of every file
 * committed meanwhile; async mode: at most one every tenth of the sync interval). One batch is in flight at a
 * time, the next going up while the last one's segments are told; a segment counts as stored once its batch and
 * every batch before it are, and files are told in that order. Each file then uploads its stored segments into
 * its Litestream layout, merged ({@code flush-interval}, {@code flush-size}); a batch goes once all of it is there.
 *
 * <p>After a crash, the segments of a writer's last batches may be in its log only. {@link #fold} copies what the
 * layouts lack into them, under the keys the writer would have used, then deletes the batches (a live writer's
 * young ones never). Every node folds the other writers' logs before its first file opens (a node that restarts,
 * or replaces a lost one, finds its predecessor's there).
 *
 * <p>A batch: {@code LGTNLOG1}, the number of segments, each as (root, generation, index, offset, time, its
 * object's LZ4 frame), then a CRC-32C of everything before it.
 */
public final class NodeLog {
  private static final Logger log = LoggerFactory.getLogger(NodeLog.class);
  static final String PREFIX = "logs/";
  private static final byte[] MAGIC = "LGTNLOG1".getBytes(StandardCharsets.US_ASCII);

  /**
   * One captured segment of a file: its place in the file's layout, its body, and whom to tell once stored.
   * Appended with the log's bytes as they are; the batch compresses each into its LZ4 object on an upload
   * thread (not on the storage writer that captured it), and that object is what is stored and told.
   */
  record Entry(String root, String generation, int index, long offset, Instant time, byte[] body, long capturedNanos,
               Told stored) {
    String key() {
      return ReplicaLayout.segment(root, generation, index, offset);
    }

    Entry compressed() {
      return new Entry(root, generation, index, offset, time, Lz4.compress(body, 0, body.length), capturedNanos, stored);
    }
  }

  /** Told once a segment is stored: the batch holding it, and its LZ4 object (what its file's layout gets). */
  interface Told {
    void stored(long batch, byte[] object);
  }

  private final Replication replication;
  private final String writer;
  private final long spacingNanos;
  /** Deletions of stored batches go at most one per this, unless a whole request's worth waits or the node drains. */
  private final long deletionSpacingNanos;

  // guarded by this
  private List<Entry> pending = new ArrayList<>();
  /** Batch uploads running; at most {@link #IN_FLIGHT}. */
  private int running;
  private boolean scheduled;
  private boolean deleting;
  /** A wake-up for the next deletion of stored batches is scheduled. */
  private boolean deletionScheduled;
  private long lastDeletionNanos;
  /** A failed batch waits for the backoff before it is tried again; no new batch starts meanwhile. */
  private boolean backingOff;
  private long nextSequence;
  private long lastStartNanos;
  /** Failed batches, tried again as they were (sequence and bytes), lowest first. */
  private final TreeMap<Long, Batch> retrying = new TreeMap<>();
  /** Stored batches not yet told, waiting for an earlier one: segments are told in the order of their batches. */
  private final TreeMap<Long, Batch> storedEarly = new TreeMap<>();
  private long nextToTell;
  /** Sequence of each stored batch not yet deleted → its segments not yet in their files' layouts. */
  private final TreeMap<Long, Integer> unflushed = new TreeMap<>();
  private final List<String> deletable = new ArrayList<>();

  /**
   * One batch in flight: every request costs CPU at both ends (the SDK's and the store's), and on two cores two
   * batches in flight sent 30% more requests for 10% fewer sync-mode writes a second. The next batch goes up
   * while the last one's segments are told ({@link #THREADS}).
   */
  static final int IN_FLIGHT = 1;
  /** The threads of the batches: one uploading while another tells what the last one stored. */
  static final int THREADS = IN_FLIGHT + 1;

  private record Batch(long sequence, List<Entry> entries, byte[] body) {}

  NodeLog(Replication replication, String writer, long spacingNanos, long deletionSpacingNanos) {
    this.replication = replication;
    this.writer = writer;
    this.spacingNanos = spacingNanos;
    this.deletionSpacingNanos = deletionSpacingNanos;
  }

  /** This process's writer name: its log's folder under {@code logs/}. */
  String writer() {
    return writer;
  }

  static String batchKey(String writer, long sequence) {
    return PREFIX + writer + "/" + ReplicaLayout.hex(sequence, 16) + ".batch";
  }

  /** Queues a segment for the next batch; {@code entry.stored} gets the batch's sequence once it is stored. */
  void append(Entry entry) {
    synchronized (this) {
      pending.add(entry);
    }
    wake();
  }

  /** A segment of batch {@code sequence} is in its file's layout (or will never need to be): the batch may go. */
  void released(long sequence) {
    boolean wake = false;
    synchronized (this) {
      Integer left = unflushed.get(sequence);
      if (left == null) {
        return;
      }
      if (left <= 1) {
        unflushed.remove(sequence);
        deletable.add(batchKey(writer, sequence));
        wake = true;
      } else {
        unflushed.put(sequence, left - 1);
      }
    }
    if (wake) {
      wake();
    }
  }

  /** Nothing waits to be stored or deleted, and no stored batch holds a segment that is not in its file's layout. */
  synchronized boolean idle() {
    return pending.isEmpty() && running == 0 && !scheduled && retrying.isEmpty() && storedEarly.isEmpty()
        && unflushed.isEmpty() && deletable.isEmpty() && !deleting;
  }

  /**
   * Starts an upload when one is due and fewer than {@link #IN_FLIGHT} run: a failed batch once its backoff
   * is over; else the pending segments (sync mode: now; async mode: once a tenth of the sync interval has
   * passed since the last batch began). Beside them, one deletion of stored batches no longer needed at a
   * time: it never takes a batch's place (sync-mode writes wait for batches, nobody waits for deletions), and
   * goes at most once per deletion spacing, gathering every batch released meanwhile into one request (a busy
   * node releases batches many times a second, each a request of its own otherwise), unless a whole request's
   * worth waits or the node drains.
   */
  private void wake() {
    long delay = 0;
    long deletionDelay = 0;
    boolean store = false;
    boolean delete = false;
    synchronized (this) {
      if (backingOff) {
        return;
      }
      if (!deletable.isEmpty() && !deleting) {
        long since = System.nanoTime() - lastDeletionNanos;
        if (since >= deletionSpacingNanos || deletable.size() >= S3Target.DELETE_BATCH || replication.draining()) {
          deleting = true;
          delete = true;
          lastDeletionNanos = System.nanoTime();
        } else if (!deletionScheduled) {
          deletionScheduled = true;
          deletionDelay = deletionSpacingNanos - since;
        }
      }
      if (!scheduled && running < IN_FLIGHT && (!retrying.isEmpty() || !pending.isEmpty())) {
        if (retrying.isEmpty() && !replication.syncMode()) {
          long since = System.nanoTime() - lastStartNanos;
          delay = since >= spacingNanos ? 0 : spacingNanos - since;
        }
        if (delay > 0) {
          scheduled = true;
        } else {
          running++;
          store = true;
        }
      }
    }
    if (delete) {
      replication.upload(this::deleteStored);
    }
    if (deletionDelay > 0) {
      wakeIn(deletionDelay, () -> deletionScheduled = false);
    }
    if (delay > 0) {
      wakeIn(delay, () -> scheduled = false);
    } else if (store) {
      replication.uploadBatch(this::work);
    }
  }

  /** Wakes {@code nanos} from now, first clearing (under the lock) the flag that said the wake-up was scheduled. */
  private void wakeIn(long nanos, Runnable clearScheduled) {
    replication.scheduleNanos(() -> {
      synchronized (this) {
        clearScheduled.run();
      }
      wake();
    }, nanos);
  }

  /** On an upload thread: one batch stored (or tried). */
  private void work() {
    Batch batch = null;
    synchronized (this) {
      if (!retrying.isEmpty()) {
        batch = retrying.pollFirstEntry().getValue();
      } else if (!pending.isEmpty() && (replication.syncMode() || System.nanoTime() - lastStartNanos >= spacingNanos)) {
        lastStartNanos = System.nanoTime();
        batch = new Batch(nextSequence++, pending, null);
        pending = new ArrayList<>();
      } else {
        running--;
      }
    }
    if (batch != null) {
      store(batch);
    }
    wake();
  }

  /** On an upload thread: one deletion of stored batches whose segments are all in their files' layouts. */
  private void deleteStored() {
    List<String> deletions;
    synchronized (this) {
      deletions = new ArrayList<>(deletable.subList(0, Math.min(deletable.size(), S3Target.DELETE_BATCH)));
      deletable.subList(0, deletions.size()).clear();
    }
    try {
      if (!deletions.isEmpty()) {
        replication.target().delete(deletions);
      }
    } catch (IOException | RuntimeException e) {
      log.debug("deleting stored batches of the node log failed ({}); a fold deletes them later", e.getMessage());
    } finally {
      synchronized (this) {
        deleting = false;
      }
    }
    wake();
  }

  private void store(Batch batch) {
    if (batch.body() == null) {
      List<Entry> objects = new ArrayList<>(batch.entries().size());
      for (Entry entry : batch.entries()) {
        objects.add(entry.compressed());
      }
      batch = new Batch(batch.sequence(), objects, encode(objects));
    }
    try {
      replication.target().put(batchKey(writer, batch.sequence()), batch.body(), Instant.now());
    } catch (IOException | RuntimeException e) {
      replication.uploadFailed("the node log", e);
      synchronized (this) {
        retrying.put(batch.sequence(), batch);
        backingOff = true;
        running--;
      }
      replication.retryLater(() -> {
        synchronized (this) {
          backingOff = false;
        }
        wake();
      });
      return;
    }
    List<Batch> told = new ArrayList<>();
    synchronized (this) {
      running--;
      storedEarly.put(batch.sequence(), batch);
      while (!storedEarly.isEmpty() && storedEarly.firstKey() == nextToTell) {
        Batch next = storedEarly.pollFirstEntry().getValue();
        unflushed.put(next.sequence(), next.entries().size());
        told.add(next);
        nextToTell++;
      }
    }
    wake(); // the next batch goes up on another thread while this one tells
    long now = System.nanoTime();
    for (Batch stored : told) {
      // the segments stay in the backlog until they are in their files' layouts
      replication.stored(0, stored.body().length, stored.entries().stream().mapToLong(e -> now - e.capturedNanos()).toArray());
      for (Entry entry : stored.entries()) {
        entry.stored().stored(stored.sequence(), entry.body());
      }
    }
  }

  // ---- the format ---------------------------------------------------------------------------------------

  /** A batch of entries whose bodies are their LZ4 objects. */
  static byte[] encode(List<Entry> entries) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + entries.stream().mapToInt(e -> e.body().length + 64).sum());
    CRC32C crc = new CRC32C();
    try (DataOutputStream out = new DataOutputStream(new CheckedOutputStream(bytes, crc))) {
      out.write(MAGIC);
      out.writeInt(entries.size());
      for (Entry entry : entries) {
        out.writeUTF(entry.root());
        out.writeUTF(entry.generation());
        out.writeInt(entry.index());
        out.writeLong(entry.offset());
        out.writeLong(entry.time().toEpochMilli());
        out.writeInt(entry.body().length);
        out.write(entry.body());
      }
      out.flush();
      new DataOutputStream(bytes).writeInt((int) crc.getValue()); // after everything, outside the checksum
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array does not fail
    }
    return bytes.toByteArray();
  }

  static List<Entry> decode(byte[] batch) throws IOException {
    if (batch.length < MAGIC.length + 8 || !Arrays.equals(batch, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new IOException("not a batch of the node log");
    }
    CRC32C crc = new CRC32C();
    crc.update(batch, 0, batch.length - 4);
    int expected = ((batch[batch.length - 4] & 0xff) << 24) | ((batch[batch.length - 3] & 0xff) << 16)
        | ((batch[batch.length - 2] & 0xff) << 8) | (batch[batch.length - 1] & 0xff);
    if ((int) crc.getValue() != expected) {
      throw new IOException("its checksum does not match (damaged or truncated)");
    }
    List<Entry> entries = new ArrayList<>();
    try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(batch, MAGIC.length, batch.length - 4 - MAGIC.length))) {
      int count = in.readInt();
      for (int i = 0; i < count; i++) {
        String root = in.readUTF();
        String generation = in.readUTF();
        int index = in.readInt();
        long offset = in.readLong();
        Instant time = Instant.ofEpochMilli(in.readLong());
        byte[] body = new byte[in.readInt()];
        in.readFully(body);
        entries.add(new Entry(root, generation, index, offset, time, body, 0, (sequence, object) -> {}));
      }
    } catch (EOFException | NegativeArraySizeException e) {
      throw new IOException("it ends inside a segment", e);
    }
    return entries;
  }

  // ---- folding ------------------------------------------------------------------------------------------

  /** What a fold did: the writers' logs read, segments copied into layouts, batches deleted, and what it could not. */
  public record Fold(int writers, int batches, int segmentsCopied, int objectsStored, int batchesDeleted, List<String> problems) {}

  /** Folds every writer's log, deleting every batch once all of it is in the layouts: for writers known stopped. */
  public static Fold foldAll(ReplicaTarget target) throws IOException {
    return fold(target, writer -> true, Instant.MAX);
  }

  /**
   * Copies into each file's Litestream layout what the logs of the writers {@code fold} accepts hold beyond
   * it, and, once all of a writer's log is there, deletes its batches stored before {@code deleteBefore}: a
   * live writer's young batch may hold a segment not yet told to its file, which the writer's next upload into
   * the layout would leave out (the same key, a shorter object), so only the writer itself deletes it. A segment
   * whose generation has no snapshot in the layout is left (none of it was acknowledged); a damaged batch is
   * reported and kept, and what follows a gap it leaves in a file's log is not copied.
   */
  public static Fold fold(ReplicaTarget target, Predicate<String> fold, Instant deleteBefore) throws IOException {
    int writers = 0;
    int batches = 0;
    int copied = 0;
    int stored = 0;
    int deleted = 0;
    List<String> problems = new ArrayList<>();
    for (String writer : target.children(PREFIX)) {
      if (!fold.test(writer)) {
        continue;
      }
      writers++;
      List<ReplicaTarget.Entry> objects = new ArrayList<>(target.list(PREFIX + writer + "/"));
      objects.sort(Comparator.comparing(ReplicaTarget.Entry::key));
      boolean whole = true;
      Map<String, List<Entry>> byGeneration = new LinkedHashMap<>();
      for (ReplicaTarget.Entry object : objects) {
        batches++;
        try {
          for (Entry entry : decode(target.get(object.key()))) {
            byGeneration.computeIfAbsent(entry.root() + "\n" + entry.generation(), k -> new ArrayList<>()).add(entry);
          }
        } catch (java.nio.file.NoSuchFileException gone) {
          // deleted by its writer meanwhile: its segments are in their layouts
        } catch (IOException damaged) {
          whole = false;
          problems.add(object.key() + ": " + damaged.getMessage());
        }
      }
      for (List<Entry> generation : byGeneration.values()) {
        try {
          int[] done = copyInto(target, generation, problems);
          copied += done[0];
          stored += done[1];
          whole &= done[2] == 0;
        } catch (IOException e) {
          whole = false;
          problems.add(generation.get(0).root() + " generation " + generation.get(0).generation() + ": " + e.getMessage());
        }
      }
      if (whole && !objects.isEmpty()) {
        List<String> keys = objects.stream().filter(o -> o.time().isBefore(deleteBefore)).map(ReplicaTarget.Entry::key).toList();
        for (int i = 0; i < keys.size(); i += S3Target.DELETE_BATCH) {
          target.delete(keys.subList(i, Math.min(keys.size(), i + S3Target.DELETE_BATCH)));
        }
        deleted += keys.size();
      }
    }
    for (String problem : problems) {
      log.error("replicas: folding the node logs in {}: {}", target.describe(), problem);
    }
    return new Fold(writers, batches, copied, stored, deleted, List.copyOf(problems));
  }

  /** One file's segments of one generation: copies what its layout lacks; returns {copied, objects, left out}. */
  static int[] copyInto(ReplicaTarget target, List<Entry> entries, List<String> problems) throws IOException {
    Entry first = entries.get(0);
    String prefix = ReplicaLayout.generation(first.root(), first.generation());
    List<ReplicaTarget.Entry> layout = target.list(prefix);
    boolean snapshot = layout.stream().anyMatch(o -> ReplicaLayout.parse(o.key()).map(ReplicaLayout.Position::snapshot).orElse(false));
    if (!snapshot) {
      return new int[] {0, 0, 1};
    }
    TreeMap<Integer, List<Entry>> byIndex = new TreeMap<>();
    entries.forEach(e -> byIndex.computeIfAbsent(e.index(), i -> new ArrayList<>()).add(e));
    int copied = 0;
    int objects = 0;
    int left = 0;
    for (Map.Entry<Integer, List<Entry>> index : byIndex.entrySet()) {
      long end = layoutEnd(target, layout, index.getKey());
      List<Entry> segments = new ArrayList<>(index.getValue());
      segments.sort(Comparator.comparingLong(Entry::offset));
      ByteArrayOutputStream run = new ByteArrayOutputStream();
      long runStart = end;
      long cursor = end;
      Instant time = null;
      for (Entry segment : segments) {
        byte[] raw = Lz4.decompress(segment.body());
        if (segment.offset() + raw.length <= cursor) {
          continue; // in the layout already (or an earlier batch's copy of it)
        }
        if (segment.offset() != cursor) {
          problems.add(segment.key() + " does not follow the log before it (which ends at " + cursor + ")");
          left++;
          break;
        }
        run.write(raw, 0, raw.length);
        cursor += raw.length;
        time = segment.time();
        copied++;
      }
      if (run.size() > 0) {
        byte[] body = run.toByteArray();
        target.put(ReplicaLayout.segment(first.root(), first.generation(), index.getKey(), runStart),
            Lz4.compress(body, 0, body.length), time);
        objects++;
      }
    }
    return new int[] {copied, objects, left};
  }

  /** Where the layout's log of WAL index {@code index} ends: its last segment's offset plus its length. */
  private static long layoutEnd(ReplicaTarget target, List<ReplicaTarget.Entry> layout, int index) throws IOException {
    Optional<ReplicaTarget.Entry> last = layout.stream()
        .filter(o -> ReplicaLayout.parse(o.key()).map(p -> !p.snapshot() && p.index() == index).orElse(false))
        .max(Comparator.comparingLong(o -> ReplicaLayout.parse(o.key()).orElseThrow().offset()));
    if (last.isEmpty()) {
      return 0;
    }
    long offset = ReplicaLayout.parse(last.get().key()).orElseThrow().offset();
    return offset + Lz4.decompress(target.get(last.get().key())).length;
  }
}
