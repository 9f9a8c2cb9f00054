package dev.legato.storage.replica;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * SQLite's write-ahead log, read as SQLite reads it when it recovers one: a 32-byte header (magic, format,
 * page size, checkpoint sequence, two salts, a checksum), then frames of a 24-byte header (page number,
 * database size in pages after a commit or 0, the salts, a running checksum) and a page. A frame counts
 * when its salts are the header's and the running checksum holds; a transaction counts when its last
 * frame (the commit frame) does. Replicas ship whole transactions only, so every scan ends at a commit.
 */
final class Wal {
  static final int HEADER_SIZE = 32;
  static final int FRAME_HEADER_SIZE = 24;
  private static final int MAGIC_LITTLE_ENDIAN_CHECKSUMS = 0x377f0682;
  private static final int MAGIC_BIG_ENDIAN_CHECKSUMS = 0x377f0683;

  private Wal() {}

  /** What a reader must know to go on reading a log after {@code offset}: its salts and running checksum. */
  record Cursor(long offset, int pageSize, int salt1, int salt2, boolean bigEndian, int checksum1, int checksum2) {
    /** Before the header: nothing known yet. */
    static final Cursor START = new Cursor(0, 0, 0, 0, false, 0, 0);

    boolean started() {
      return offset > 0;
    }

    int frameSize() {
      return FRAME_HEADER_SIZE + pageSize;
    }
  }

  /**
   * Reads {@code bytes} (the log from {@code from.offset()} on) and returns the cursor after the last
   * whole transaction in them ({@code from} itself when there is none). From the start of a log, the
   * header is checked first; a log whose header does not hold has no transactions. Every frame's running
   * checksum is verified: for a log read from anywhere (a replica, a file left by a crash).
   */
  static Cursor scan(byte[] bytes, int length, Cursor from) {
    return scan(bytes, length, from, true);
  }

  /**
   * {@link #scan}, trusting the frames' checksums: for the log its own writer reads right after a commit, under
   * the exclusive lock, where every frame up to the last commit frame is one SQLite has just written. The
   * checksums are taken as SQLite wrote them (what a reader verifies later), not computed again. Salts and commit
   * frames are still read: a frame left past the end by a transaction rolled back is never a commit frame, and a
   * log restarted (new salts) ends the scan.
   */
  static Cursor scanOwnLog(byte[] bytes, int length, Cursor from) {
    return scan(bytes, length, from, false);
  }

  private static Cursor scan(byte[] bytes, int length, Cursor from, boolean verify) {
    int position = 0;
    Cursor at = from;
    if (!from.started()) {
      if (length < HEADER_SIZE) {
        return from;
      }
      ByteBuffer header = ByteBuffer.wrap(bytes, 0, HEADER_SIZE).order(ByteOrder.BIG_ENDIAN);
      int magic = header.getInt(0);
      if (magic != MAGIC_LITTLE_ENDIAN_CHECKSUMS && magic != MAGIC_BIG_ENDIAN_CHECKSUMS) {
        return from;
      }
      boolean bigEndian = magic == MAGIC_BIG_ENDIAN_CHECKSUMS;
      int pageSize = header.getInt(8);
      if (pageSize < 512 || pageSize > 65536 || Integer.bitCount(pageSize) != 1) {
        return from;
      }
      long[] sum = checksum(bytes, 0, 24, bigEndian, 0, 0);
      if ((int) sum[0] != header.getInt(24) || (int) sum[1] != header.getInt(28)) {
        return from;
      }
      at = new Cursor(HEADER_SIZE, pageSize, header.getInt(16), header.getInt(20), bigEndian, header.getInt(24), header.getInt(28));
      position = HEADER_SIZE;
    }
    Cursor committed = at == from ? from : null; // a header alone is no transaction: keep it only with one after it
    int frameSize = at.frameSize();
    long s1 = at.checksum1() & 0xffffffffL;
    long s2 = at.checksum2() & 0xffffffffL;
    ByteBuffer view = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
    while (position + frameSize <= length) {
      int commitSize = view.getInt(position + 4);
      if (view.getInt(position + 8) != at.salt1() || view.getInt(position + 12) != at.salt2()) {
        break;
      }
      if (verify) {
        long[] sum = checksum(bytes, position, 8, at.bigEndian(), s1, s2);
        sum = checksum(bytes, position + FRAME_HEADER_SIZE, frameSize - FRAME_HEADER_SIZE, at.bigEndian(), sum[0], sum[1]);
        if ((int) sum[0] != view.getInt(position + 16) || (int) sum[1] != view.getInt(position + 20)) {
          break;
        }
      }
      s1 = view.getInt(position + 16) & 0xffffffffL;
      s2 = view.getInt(position + 20) & 0xffffffffL;
      position += frameSize;
      if (commitSize != 0) {
        committed = new Cursor(from.offset() + position, at.pageSize(), at.salt1(), at.salt2(), at.bigEndian(), (int) s1, (int) s2);
      }
    }
    return committed != null ? committed : from;
  }

  /** A log's bytes as the replica holds them, and the cursor after them in the replica's log. */
  record Compacted(byte[] bytes, Cursor end) {}

  /**
   * The whole transactions of {@code bytes} (the log from {@code from} up to {@code to}, as {@link #scan}
   * found them), written as the continuation of the replica's log of the same WAL index, which ends at
   * {@code replica}. When a page occurs more than once in them, they become one transaction holding each page
   * once, at its last version (pages past the last commit's database size dropped): a replica segment is
   * applied whole or not at all, so the states in between are never restored, and a busy file's segment
   * shrinks to the pages its transactions touched. The frames' running checksums then follow the replica's
   * log, not the local one: its offsets are its own (the local log's offsets only while nothing was compacted).
   */
  static Compacted compact(byte[] bytes, Cursor from, Cursor to, Cursor replica) {
    int length = (int) (to.offset() - from.offset());
    int start = 0;
    Cursor out = replica;
    if (!from.started()) {
      start = HEADER_SIZE; // the header opens the replica's log of this index as it opens the local one
      out = new Cursor(HEADER_SIZE, to.pageSize(), to.salt1(), to.salt2(), to.bigEndian(), headerChecksum(bytes, 0), headerChecksum(bytes, 4));
    }
    int frameSize = to.frameSize();
    int frames = (length - start) / frameSize;
    ByteBuffer view = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
    Map<Integer, Integer> last = new HashMap<>(frames * 2);
    for (int i = 0; i < frames; i++) {
      last.put(view.getInt(start + i * frameSize), i);
    }
    boolean repeated = last.size() < frames;
    boolean sameChain = !from.started() || (out.checksum1() == from.checksum1() && out.checksum2() == from.checksum2());
    if (!repeated && sameChain) {
      byte[] same = length == bytes.length ? bytes : Arrays.copyOf(bytes, length);
      return new Compacted(same, new Cursor(out.offset() + length - start, to.pageSize(), to.salt1(),
          to.salt2(), to.bigEndian(), to.checksum1(), to.checksum2()));
    }
    int databaseSize = view.getInt(start + (frames - 1) * frameSize + 4);
    byte[] result = new byte[start + (repeated ? last.size() : frames) * frameSize];
    System.arraycopy(bytes, 0, result, 0, start);
    int position = start;
    long s1 = out.checksum1() & 0xffffffffL;
    long s2 = out.checksum2() & 0xffffffffL;
    ByteBuffer written = ByteBuffer.wrap(result).order(ByteOrder.BIG_ENDIAN);
    int lastWritten = -1;
    for (int i = 0; i < frames; i++) {
      int frame = start + i * frameSize;
      int page = view.getInt(frame);
      if (repeated && (last.get(page) != i || Integer.compareUnsigned(page, databaseSize) > 0)) {
        continue;
      }
      System.arraycopy(bytes, frame, result, position, frameSize);
      if (repeated) {
        written.putInt(position + 4, 0); // one transaction: its commit frame is the last one written
      }
      lastWritten = position;
      position += frameSize;
    }
    if (repeated) {
      written.putInt(lastWritten + 4, databaseSize);
    }
    result = position == result.length ? result : Arrays.copyOf(result, position);
    for (int frame = start; frame < position; frame += frameSize) {
      long[] sum = checksum(result, frame, 8, to.bigEndian(), s1, s2);
      sum = checksum(result, frame + FRAME_HEADER_SIZE, frameSize - FRAME_HEADER_SIZE, to.bigEndian(), sum[0], sum[1]);
      s1 = sum[0];
      s2 = sum[1];
      written.putInt(frame + 16, (int) s1);
      written.putInt(frame + 20, (int) s2);
    }
    return new Compacted(result, new Cursor(out.offset() + position - start, to.pageSize(), to.salt1(), to.salt2(), to.bigEndian(), (int) s1, (int) s2));
  }

  private static int headerChecksum(byte[] bytes, int which) {
    return ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN).getInt(24 + which);
  }

  /** SQLite's WAL checksum over {@code length} bytes (a multiple of 8), continuing from {@code s1, s2}. */
  private static long[] checksum(byte[] bytes, int offset, int length, boolean bigEndian, long s1, long s2) {
    ByteBuffer words = ByteBuffer.wrap(bytes, offset, length).order(bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    int a = (int) s1;
    int b = (int) s2;
    for (int i = offset; i < offset + length; i += 8) {
      a += words.getInt(i) + b;
      b += words.getInt(i + 4) + a;
    }
    return new long[] {a & 0xffffffffL, b & 0xffffffffL};
  }
}
