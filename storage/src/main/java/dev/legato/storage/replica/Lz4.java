package dev.legato.storage.replica;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;

/**
 * Objects as Litestream stores them: one LZ4 frame each, with the content checksum (xxHash32 of the whole
 * uncompressed object) that a reader verifies. No block checksums: Litestream's reader (pierrec/lz4 v4)
 * computes those over the uncompressed block, against the LZ4 specification and this library, and would
 * refuse them. 64 KiB blocks keep the writer's buffers small (Litestream's own are 4 MiB; its reader
 * takes any size).
 */
final class Lz4 {
  private Lz4() {}

  static byte[] compress(byte[] raw, int offset, int length) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, length / 2));
    try (LZ4FrameOutputStream frame = new LZ4FrameOutputStream(out, LZ4FrameOutputStream.BLOCKSIZE.SIZE_64KB,
        LZ4FrameOutputStream.FLG.Bits.BLOCK_INDEPENDENCE, LZ4FrameOutputStream.FLG.Bits.CONTENT_CHECKSUM)) {
      frame.write(raw, offset, length);
    } catch (IOException impossible) {
      throw new IllegalStateException(impossible); // a ByteArrayOutputStream does not fail
    }
    return out.toByteArray();
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
