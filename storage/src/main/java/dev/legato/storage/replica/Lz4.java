package dev.legato.storage.replica;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4SafeDecompressor;
import net.jpountz.xxhash.StreamingXXHash32;
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
  private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4Factory.fastestInstance().safeDecompressor();
  private static final XXHashFactory HASHES = XXHashFactory.fastestInstance();
  private static final XXHash32 XXHASH = HASHES.hash32();
  private static final int BLOCK = 64 * 1024;
  /** A block's bytes, decompressed to be hashed: one buffer per thread that merges. */
  private static final ThreadLocal<byte[]> BLOCK_BUFFER = ThreadLocal.withInitial(() -> new byte[BLOCK]);
  /** Magic, then FLG (version 01, independent blocks, content checksum) and BD (64 KiB blocks). */
  private static final byte[] HEADER = {0x04, 0x22, 0x4d, 0x18, 0x64, 0x40};
  /** What a frame holds besides its blocks: the header and its checksum, the end mark and the content checksum. */
  private static final int FRAME_OVERHEAD = HEADER.length + 1 + 4 + 4;
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

  /**
   * The frames written by {@link #compress}, one after the other, as one frame of their contents: their blocks
   * are independent, so they are copied as they are, and only the content checksum is new (over each block,
   * decompressed into a buffer of this thread). Merging a file's segments this way neither recompresses nor
   * allocates a block's buffers per frame, which the library's frame reader does (merging by decompressing
   * was half of all the bytes a sync-mode node allocated). Each frame's own checksum is verified on the way.
   */
  static byte[] concat(List<byte[]> frames) throws IOException {
    int size = FRAME_OVERHEAD;
    for (byte[] frame : frames) {
      size += frame.length - FRAME_OVERHEAD;
    }
    byte[] out = new byte[size];
    System.arraycopy(HEADER, 0, out, 0, HEADER.length);
    int at = HEADER.length;
    out[at++] = HEADER_CHECKSUM;
    byte[] block = BLOCK_BUFFER.get();
    try (StreamingXXHash32 whole = HASHES.newStreamingHash32(0); StreamingXXHash32 one = HASHES.newStreamingHash32(0)) {
      for (byte[] frame : frames) {
        if (frame.length < FRAME_OVERHEAD || !Arrays.equals(frame, 0, HEADER.length, HEADER, 0, HEADER.length)
            || frame[HEADER.length] != HEADER_CHECKSUM) {
          throw new IOException("not a frame of this writer's (64 KiB independent blocks, content checksum)");
        }
        one.reset();
        int from = HEADER.length + 1;
        while (true) {
          if (from + 4 > frame.length) {
            throw new IOException("an LZ4 frame ends inside its blocks");
          }
          int word = littleEndian(frame, from);
          if (word == 0) {
            break;
          }
          int length = word & 0x7fffffff;
          if (length > BLOCK || from + 4 + length > frame.length - 8) {
            throw new IOException("an LZ4 block of " + length + " bytes does not fit its frame");
          }
          if (word < 0) { // stored as it is
            one.update(frame, from + 4, length);
            whole.update(frame, from + 4, length);
          } else {
            int raw;
            try {
              raw = DECOMPRESSOR.decompress(frame, from + 4, length, block, 0, BLOCK);
            } catch (LZ4Exception broken) {
              throw new IOException("not a valid LZ4 block: " + broken.getMessage(), broken);
            }
            one.update(block, 0, raw);
            whole.update(block, 0, raw);
          }
          System.arraycopy(frame, from, out, at, 4 + length);
          at += 4 + length;
          from += 4 + length;
        }
        if (from + 8 != frame.length || littleEndian(frame, from + 4) != one.getValue()) {
          throw new IOException("an LZ4 frame's content checksum does not hold");
        }
      }
      littleEndian(out, at, 0); // the end mark
      littleEndian(out, at + 4, whole.getValue());
    }
    return out;
  }

  private static int littleEndian(byte[] in, int at) {
    return (in[at] & 0xff) | (in[at + 1] & 0xff) << 8 | (in[at + 2] & 0xff) << 16 | (in[at + 3] & 0xff) << 24;
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
