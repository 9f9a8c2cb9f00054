package dev.legato.storage.replica;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retention of a target's replicas. Guarantee: a restore at any moment of the window {@code now - retention ..
 * now} gives the state at that moment, and a file's newest state stays restorable however old, unless the
 * file was deleted more than {@code retention} ago and not written since: then its whole replica goes.
 *
 * <p>Live files ({@link #prune}): a restore at {@code t} uses the newest generation with a snapshot at or before
 * {@code t}, and in it the greatest such snapshot (see {@link Restorer}). So with K the newest generation having
 * a snapshot at or before the window's start, and S its greatest, every moment of the window is served by K
 * from S on, or by a newer generation: the generations older than K, and K's objects before S's index, are
 * needed by no moment of the window.
 *
 * <p>Deleted files ({@link #sweep}): a deletion writes an index object {@code deletions/<yyyy-mm-dd>/<root,
 * escaped>} beside the replicas (outside any root: Litestream and the listing of a folder's replicas never see
 * it), so a sweep finds what expired by listing the days older than retention, never the whole target.
 */
final class Retention {
  private static final Logger log = LoggerFactory.getLogger(Retention.class);
  static final String DELETIONS = "deletions/";
  /** Keys one {@link #prune} deletes at most (one S3 DeleteObjects request): the rest goes next time. */
  static final int MAX_PRUNED = 1000;
  /** Index entries one {@link #sweep} handles at most; it says when more are waiting. */
  static final int MAX_SWEPT = 200;

  private final ReplicaTarget target;
  private final Duration retention;

  Retention(ReplicaTarget target, Duration retention) {
    this.target = target;
    this.retention = retention;
  }

  Duration retention() {
    return retention;
  }

  // ---- live files -------------------------------------------------------------------------------------

  /**
   * Deletes the objects of the replica at {@code root} that no moment of the window ending at {@code now}
   * needs (at most {@link #MAX_PRUNED}; older generations first), and returns how many it deleted.
   */
  int prune(String root, Instant now) throws IOException {
    Instant windowStart = now.minus(retention);
    String prefix = ReplicaLayout.generations(root);
    TreeMap<String, List<ReplicaTarget.Entry>> generations = new TreeMap<>();
    for (ReplicaTarget.Entry object : target.list(prefix)) {
      String rest = object.key().substring(prefix.length());
      int slash = rest.indexOf('/');
      if (slash > 0 && Generations.isName(rest.substring(0, slash))) {
        generations.computeIfAbsent(rest.substring(0, slash), g -> new ArrayList<>()).add(object);
      }
    }
    String keeper = null;
    int keepFrom = 0;
    for (Map.Entry<String, List<ReplicaTarget.Entry>> generation : generations.descendingMap().entrySet()) {
      Optional<Integer> snapshot = generation.getValue().stream()
          .filter(o -> !o.time().isAfter(windowStart))
          .flatMap(o -> ReplicaLayout.parse(o.key()).filter(ReplicaLayout.Position::snapshot).stream())
          .map(ReplicaLayout.Position::index)
          .max(Integer::compare);
      if (snapshot.isPresent()) {
        keeper = generation.getKey();
        keepFrom = snapshot.get();
        break;
      }
    }
    if (keeper == null) {
      return 0;
    }
    List<String> expired = new ArrayList<>();
    for (Map.Entry<String, List<ReplicaTarget.Entry>> older : generations.headMap(keeper, false).entrySet()) {
      older.getValue().forEach(o -> expired.add(o.key()));
      expired.add(ReplicaLayout.writer(root, older.getKey())); // its name, if it has one
    }
    int from = keepFrom;
    for (ReplicaTarget.Entry object : generations.get(keeper)) {
      if (ReplicaLayout.parse(object.key()).map(p -> p.index() < from).orElse(false)) {
        expired.add(object.key());
      }
    }
    List<String> batch = expired.subList(0, Math.min(expired.size(), MAX_PRUNED));
    if (!batch.isEmpty()) {
      target.delete(batch);
      log.debug("replicas: retention removed {} objects of {} (kept generation {} from index {})", batch.size(), root,
          keeper, keepFrom);
    }
    return batch.size();
  }

  // ---- deleted files ----------------------------------------------------------------------------------

  /** The index entry of a deletion at {@code at}: under its day, the root with {@code %} and {@code /} escaped. */
  static String deletionKey(String root, Instant at) {
    return DELETIONS + LocalDate.ofInstant(at, ZoneOffset.UTC) + "/" + root.replace("%", "%25").replace("/", "%2F");
  }

  /** What the index entry holds: the generation the deletion mark names, and the moment of the deletion. */
  static byte[] deletionRecord(String generation, Instant at) {
    return (generation + "\n" + at + "\n").getBytes(StandardCharsets.US_ASCII);
  }

  static String rootOf(String deletionKey) {
    String name = deletionKey.substring(deletionKey.lastIndexOf('/') + 1);
    return name.replace("%2F", "/").replace("%25", "%");
  }

  /** What a sweep did: replicas purged, deletions whose replica was kept, entries it failed on, and whether more wait. */
  record Sweep(int purged, int kept, int failed, Exception firstFailure, boolean more) {}

  /**
   * Purges the replicas of files deleted more than {@code retention} before {@code now} whose deletion mark
   * still names their newest generation, and removes the index entries it handled (those of replicas written
   * again are removed, their replica kept). Idempotent: nodes sweeping the same target at once delete the same
   * keys, and a missing key is no error. An entry that fails stays for the next sweep.
   */
  Sweep sweep(Instant now) throws IOException {
    Instant cutoff = now.minus(retention);
    LocalDate lastDay = LocalDate.ofInstant(cutoff, ZoneOffset.UTC);
    int purged = 0;
    int kept = 0;
    int failed = 0;
    int handled = 0;
    Exception firstFailure = null;
    for (String day : target.children(DELETIONS)) {
      LocalDate date;
      try {
        date = LocalDate.parse(day);
      } catch (DateTimeParseException notADay) {
        continue;
      }
      if (date.isAfter(lastDay)) {
        break; // days sort in order: every later day holds deletions younger than the retention
      }
      for (ReplicaTarget.Entry entry : target.list(DELETIONS + day + "/")) {
        if (handled >= MAX_SWEPT) {
          return new Sweep(purged, kept, failed, firstFailure, true);
        }
        try {
          Boolean purge = expire(entry, cutoff);
          if (purge != null) {
            handled++;
            if (purge) {
              purged++;
            } else {
              kept++;
            }
          }
        } catch (IOException | RuntimeException e) {
          handled++;
          failed++;
          if (firstFailure == null) {
            firstFailure = e;
          }
        }
      }
    }
    return new Sweep(purged, kept, failed, firstFailure, false);
  }

  /**
   * One index entry: null when its deletion is younger than the retention (left for later); otherwise the
   * replica is purged (true) or kept because it was written again (false), and the entry removed.
   */
  private Boolean expire(ReplicaTarget.Entry entry, Instant cutoff) throws IOException {
    String root = rootOf(entry.key());
    String generation = null;
    Instant deletedAt = entry.time();
    try {
      String[] lines = new String(target.get(entry.key()), StandardCharsets.US_ASCII).split("\n");
      if (lines.length >= 2 && Generations.isName(lines[0].trim())) {
        generation = lines[0].trim();
        deletedAt = Instant.parse(lines[1].trim());
      }
    } catch (NoSuchFileException handledElsewhere) {
      return null; // another node swept it meanwhile
    } catch (DateTimeParseException unreadable) {
      // an entry written by hand or damaged: the time it was stored stands for the deletion
    }
    if (deletedAt.isAfter(cutoff)) {
      return null;
    }
    boolean purge = purgeIfStillDeleted(root, generation);
    target.delete(List.of(entry.key()));
    return purge;
  }

  /**
   * Purges the replica at {@code root} when its deletion mark names {@code generation} (any, when null) and no
   * generation is newer than the one it names; the mark goes last, so a purge cut short is done again next
   * time and never leaves an older generation looking undeleted.
   */
  private boolean purgeIfStillDeleted(String root, String generation) throws IOException {
    String markKey = root + "/" + DbReplica.DELETED;
    String mark;
    try {
      mark = new String(target.get(markKey), StandardCharsets.US_ASCII).trim();
    } catch (NoSuchFileException none) {
      return false; // purged already, or no longer deleted
    }
    if (generation != null && !generation.equals(mark)) {
      return false; // deleted again since, under a newer generation: that deletion has an entry of its own
    }
    List<ReplicaTarget.Entry> objects = target.list(root + "/");
    String prefix = ReplicaLayout.generations(root);
    Optional<String> newest = Generations.newest(objects.stream()
        .map(ReplicaTarget.Entry::key)
        .filter(k -> k.startsWith(prefix) && k.indexOf('/', prefix.length()) > 0)
        .map(k -> k.substring(prefix.length(), k.indexOf('/', prefix.length())))
        .distinct()
        .toList());
    if (newest.isPresent() && newest.get().compareTo(mark) > 0) {
      return false; // restored or made again after the deletion: a live file's replica
    }
    List<String> keys = new ArrayList<>();
    for (ReplicaTarget.Entry object : objects) {
      if (!object.key().equals(markKey)) {
        keys.add(object.key()); // in key order: older generations first
      }
    }
    keys.add(markKey);
    target.delete(keys);
    log.info("replicas: purged the replica of {} ({} objects), deleted more than {} ago", root, keys.size(), retention);
    return true;
  }
}
