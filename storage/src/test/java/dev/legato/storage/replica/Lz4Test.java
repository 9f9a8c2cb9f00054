package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The frames {@link Lz4#compress} writes by hand read back through the library's own frame reader, for sizes
 * around the block size, data that compresses and data that does not (stored blocks); and the library's
 * frames read the same, so the two agree on the format; frames concatenated by {@link Lz4#concat} read back as
 * their contents one after the other. (The stock Litestream reads them in the replica tests.)
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

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 7})
  void framesConcatenatedReadBackAsTheirContentsOneAfterTheOther(int seed) throws IOException {
    Random random = new Random(seed);
    ByteArrayOutputStream contents = new ByteArrayOutputStream();
    List<byte[]> frames = new ArrayList<>();
    for (int i = 0; i < 3 + seed; i++) {
      int size = new int[] {0, 1, 4_120, 65_536, 70_000, 150_000}[random.nextInt(6)];
      byte[] raw = new byte[size];
      if (random.nextBoolean()) {
        random.nextBytes(raw); // stored blocks
      } else {
        for (int j = 0; j < size; j += 61) {
          raw[j] = (byte) random.nextInt(3); // compressed blocks
        }
      }
      contents.write(raw);
      frames.add(i % 2 == 0 ? Lz4.compress(raw, 0, raw.length) : libraryFrame(raw));
    }
    byte[] merged = Lz4.concat(frames);
    assertArrayEquals(contents.toByteArray(), Lz4.decompress(merged));
    // the library's reader agrees, content checksum included
    try (LZ4FrameInputStream in = new LZ4FrameInputStream(new ByteArrayInputStream(merged))) {
      assertArrayEquals(contents.toByteArray(), in.readAllBytes());
    }
    assertArrayEquals(merged, Lz4.concat(List.of(merged)));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 5, 9, 20})
  void aDamagedOrTruncatedFrameIsRefusedByConcat(int cut) {
    byte[] raw = new byte[10_000];
    for (int i = 0; i < raw.length; i += 7) {
      raw[i] = (byte) i;
    }
    byte[] frame = Lz4.compress(raw, 0, raw.length);
    byte[] good = Lz4.compress(raw, 0, 100);
    assertThrows(IOException.class, () -> Lz4.concat(List.of(good, Arrays.copyOf(frame, frame.length - cut))));
    byte[] flipped = frame.clone();
    flipped[frame.length - 1 - cut] ^= 0x10;
    assertThrows(IOException.class, () -> Lz4.concat(List.of(flipped, good)));
    byte[] notOurs = frame.clone();
    notOurs[5] = 0x70; // 4 MiB blocks
    assertThrows(IOException.class, () -> Lz4.concat(List.of(notOurs)));
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
