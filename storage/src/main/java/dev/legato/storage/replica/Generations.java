package dev.legato.storage.replica;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Generation names: 16 lower-case hex digits, as Litestream requires. Legato's begin with the writer's
 * start time in milliseconds (12 digits) and end with 4 random ones, so names sort by age: the newest
 * writer of a file has the greatest name, whatever the clocks of the objects' store say.
 */
final class Generations {
  private static final Pattern NAME = Pattern.compile("[0-9a-f]{16}");
  private static final SecureRandom RANDOM = new SecureRandom();

  private Generations() {}

  static boolean isName(String name) {
    return NAME.matcher(name).matches();
  }

  /** A name newer than {@code newest} (if any) and than any name made before now on this clock. */
  static String next(long nowMillis, Optional<String> newest) {
    long start = nowMillis;
    if (newest.isPresent()) {
      start = Math.max(start, startOf(newest.get()) + 1);
    }
    byte[] random = new byte[2];
    RANDOM.nextBytes(random);
    return String.format("%012x", start & 0xffffffffffffL) + HexFormat.of().formatHex(random);
  }

  /** The start time a name of Legato's carries (for foreign names, a number without meaning). */
  static long startOf(String name) {
    return Long.parseLong(name.substring(0, 12), 16);
  }

  static Optional<String> newest(List<String> names) {
    return names.stream().filter(Generations::isName).max(String::compareTo);
  }

  /** The newest generation of the replica at {@code root}, as the target lists it now. */
  static Optional<String> newest(ReplicaTarget target, String root) throws IOException {
    return newest(target.children(ReplicaLayout.generations(root)));
  }
}
