package dev.legato.storage.replica;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.xxhash.XXHash32;
import net.jpountz.xxhash.XXHashFactory;

/**
 * Objects as Litestream stores them: one LZ4 frame each, with the content checksum (xxHash32 of the whole
 * uncompressed object) that a reader verifies. No block checksums: Litestream's reader (pierrec/lz4 v4)
 * computes those over the uncompressed block, against the LZ4 specification and this library, and would
 * refuse them. 64 KiB blocks keep the writer's buffers small (Litestream's own are 4 MiB; its reader
 * takes any size).
 */
final class Lz4 {
  private static final LZ4Compressor COMPRESSOR = LZ4Factory.fastestInstance().fastCompressor();
  private static final XXHash32 XXHASH = XXHashFactory.fastestInstance().hash32();
  private static final int BLOCK = 64 * 1024;
  /** Magic, then FLG (version 01, independent blocks, content checksum) and BD (64 KiB blocks). */
  private static final byte[] HEADER = {0x04, 0x22, 0x4d, 0x18, 0x64, 0x40};
  /** The header checksum: the second byte of the xxHash32 of FLG and BD. */
  private static final byte HEADER_CHECKSUM = (byte) (XXHASH.hash(HEADER, 4, 2, 0) >> 8);

  private Lz4() {}

  /**
   * One LZ4 frame of {@code raw[offset, offset + length)}: the frame written here directly around the
   * library's block compressor, as the specification lays it out. The library's frame stream costs a
   * stream, its buffers and a flag set per call, which at one call per captured segment was a tenth of a
   * busy writer's time; {@link #decompress} (the library's frame reader) and the stock Litestream read it.
   */
  static byte[] compress(byte[] raw, int offset, int length) {
    int blocks = Math.max(1, (length + BLOCK - 1) / BLOCK);
    byte[] out = new byte[HEADER.length + 1 + blocks * (4 + COMPRESSOR.maxCompressedLength(Math.min(BLOCK, length))) + 8];
    System.arraycopy(HEADER, 0, out, 0, HEADER.length);
    int at = HEADER.length;
    out[at++] = HEADER_CHECKSUM;
    for (int from = offset, end = offset + length; from < end; from += BLOCK) {
      int size = Math.min(BLOCK, end - from);
      int compressed = COMPRESSOR.compress(raw, from, size, out, at + 4, out.length - at - 4);
      if (compressed >= size) {
        littleEndian(out, at, size | 0x80000000); // stored as it is: the highest bit says so
        System.arraycopy(raw, from, out, at + 4, size);
        at += 4 + size;
      } else {
        littleEndian(out, at, compressed);
        at += 4 + compressed;
      }
    }
    littleEndian(out, at, 0); // the end mark
    littleEndian(out, at + 4, XXHASH.hash(raw, offset, length, 0));
    return Arrays.copyOf(out, at + 8);
  }

  private static void littleEndian(byte[] out, int at, int value) {
    out[at] = (byte) value;
    out[at + 1] = (byte) (value >>> 8);
    out[at + 2] = (byte) (value >>> 16);
    out[at + 3] = (byte) (value >>> 24);
  }

  /**
   * The object's bytes; an {@link IOException} when it is not one whole LZ4 frame whose content checksum
   * holds (truncated, corrupted, or not LZ4 at all).
   */
  static byte[] decompress(byte[] compressed) throws IOException {
    try (LZ4FrameInputStream frame = new LZ4FrameInputStream(new ByteArrayInputStream(compressed))) {
      byte[] raw = frame.readAllBytes();
      return raw;
    } catch (RuntimeException broken) {
      // the decoder throws unchecked exceptions for some malformed input (a block longer than the frame)
      throw new IOException("not a valid LZ4 frame: " + broken.getMessage(), broken);
    }
  }
}
