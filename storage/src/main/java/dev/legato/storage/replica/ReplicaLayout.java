package dev.legato.storage.replica;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Litestream's replica layout (v0.3), the keys below a database's replica root:
 * {@code generations/<16 hex>/snapshots/<index %08x>.snapshot.lz4} (the whole database file at the start of
 * a WAL index) and {@code generations/<16 hex>/wal/<index %08x>_<offset %08x>.wal.lz4} (the log's bytes from
 * that offset: the 32-byte header first at offset 0, then whole frames). An index is one life of the WAL
 * file, between two checkpoints that restart it.
 */
final class ReplicaLayout {
  private static final Pattern SNAPSHOT = Pattern.compile("([0-9a-f]{8})\\.snapshot\\.lz4");
  private static final Pattern SEGMENT = Pattern.compile("([0-9a-f]{8})_([0-9a-f]{8})\\.wal\\.lz4");

  private ReplicaLayout() {}

  static String generations(String root) {
    return root + "/generations/";
  }

  static String generation(String root, String generation) {
    return generations(root) + generation + "/";
  }

  /** The generation a key below {@code generations/} belongs to; null for a key outside it (the deletion mark). */
  static String generationOf(String root, String key) {
    String prefix = generations(root);
    if (!key.startsWith(prefix)) {
      return null;
    }
    String rest = key.substring(prefix.length());
    return rest.substring(0, rest.indexOf('/'));
  }

  /**
   * Which node's log may hold the generation's segments not yet in its layout: the id of the writer that began it.
   * Legato's own object, beside {@code generations/} (as the deletion mark is), so that Litestream's layout stays
   * as Litestream writes it; retention removes it with its generation.
   */
  static String writer(String root, String generation) {
    return root + "/writers/" + generation;
  }

  static String snapshot(String root, String generation, int index) {
    return generation(root, generation) + "snapshots/" + hex(Integer.toUnsignedLong(index), 8) + ".snapshot.lz4";
  }

  static String segment(String root, String generation, int index, long offset) {
    if (offset > 0xffffffffL) {
      throw new IllegalStateException("a WAL offset past 4 GiB does not fit the replica layout");
    }
    // a key per capture on a busy node: hex by hand, String.format showed in the writers' profile
    return generation(root, generation) + "wal/" + hex(Integer.toUnsignedLong(index), 8) + "_" + hex(offset, 8) + ".wal.lz4";
  }

  /** {@code value} (not negative, and fitting) as {@code digits} lower-case hex digits, zero-padded. */
  static String hex(long value, int digits) {
    String hex = Long.toHexString(value);
    return "0".repeat(digits - hex.length()) + hex;
  }

  /** A key below a generation, parsed: a snapshot has no offset ({@code -1}). */
  record Position(int index, long offset) {
    boolean snapshot() {
      return offset < 0;
    }
  }

  /** The position a key of a generation names, when it is a snapshot or a WAL segment. */
  static Optional<Position> parse(String key) {
    int slash = key.lastIndexOf('/');
    String name = key.substring(slash + 1);
    String folder = key.substring(0, Math.max(0, slash));
    if (folder.endsWith("/snapshots") || folder.equals("snapshots")) {
      Matcher m = SNAPSHOT.matcher(name);
      if (m.matches()) {
        return Optional.of(new Position(Integer.parseUnsignedInt(m.group(1), 16), -1));
      }
    } else if (folder.endsWith("/wal") || folder.equals("wal")) {
      Matcher m = SEGMENT.matcher(name);
      if (m.matches()) {
        return Optional.of(new Position(Integer.parseUnsignedInt(m.group(1), 16), Long.parseLong(m.group(2), 16)));
      }
    }
    return Optional.empty();
  }
}
