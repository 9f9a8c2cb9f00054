package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Random;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The frames {@link Lz4#compress} writes by hand read back through the library's own frame reader, for sizes
 * around the block size, data that compresses and data that does not (stored blocks); and the library's
 * frames read the same, so the two agree on the format. (The stock Litestream reads them in the replica tests.)
 */
class Lz4Test {
  @ParameterizedTest
  @ValueSource(ints = {0, 1, 100, 65_535, 65_536, 65_537, 200_000, 1_000_000})
  void framesWrittenHereReadBackWholeAndALibraryFrameReadsTheSame(int size) throws IOException {
    Random random = new Random(size);
    byte[] incompressible = new byte[size];
    random.nextBytes(incompressible);
    byte[] mixed = new byte[size];
    for (int i = 0; i < size; i += 97) {
      mixed[i] = (byte) random.nextInt(4); // mostly zeros, as a log's pages are
    }
    for (byte[] raw : new byte[][] {incompressible, mixed}) {
      assertArrayEquals(raw, Lz4.decompress(Lz4.compress(raw, 0, raw.length)));
      assertArrayEquals(raw, Lz4.decompress(libraryFrame(raw)));
      // a slice in the middle of a larger array
      byte[] padded = new byte[size + 10];
      System.arraycopy(raw, 0, padded, 7, size);
      assertArrayEquals(raw, Lz4.decompress(Lz4.compress(padded, 7, size)));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 5, 20})
  void aDamagedOrTruncatedFrameIsRefused(int cut) {
    byte[] raw = new byte[10_000];
    new Random(cut).nextBytes(raw);
    byte[] frame = Lz4.compress(raw, 0, raw.length);
    assertThrows(IOException.class, () -> Lz4.decompress(Arrays.copyOf(frame, frame.length - cut)));
    byte[] flipped = frame.clone();
    flipped[frame.length / 2] ^= 0x10;
    assertThrows(IOException.class, () -> Lz4.decompress(flipped));
  }

  private static byte[] libraryFrame(byte[] raw) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (LZ4FrameOutputStream frame = new LZ4FrameOutputStream(out, LZ4FrameOutputStream.BLOCKSIZE.SIZE_64KB,
        LZ4FrameOutputStream.FLG.Bits.BLOCK_INDEPENDENCE, LZ4FrameOutputStream.FLG.Bits.CONTENT_CHECKSUM)) {
      frame.write(raw);
    }
    return out.toByteArray();
  }
}
