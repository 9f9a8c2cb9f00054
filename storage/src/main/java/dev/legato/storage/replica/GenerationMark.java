package dev.legato.storage.replica;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The mark beside a local database file ({@code session.db.generation}) naming the replica generation its
 * contents belong to: a file with an older mark than the replica's newest is a stale copy, one with none was
 * never replicated (a stale copy too when the replica holds a generation of the file).
 */
final class GenerationMark {
  private final Path path;

  GenerationMark(Path database) {
    this.path = database.resolveSibling(database.getFileName() + ".generation");
  }

  /** The generation the local file belongs to, or null when it has no valid mark. */
  String read() {
    try {
      String name = Files.readString(path, StandardCharsets.US_ASCII).trim().split("\\s+")[0];
      return Generations.isName(name) ? name : null;
    } catch (IOException none) {
      return null;
    }
  }

  /**
   * Whether the local file was restored from its generation rather than written by this node: another node may
   * have gone on writing that generation since, so the copy is not known to be its newest state.
   */
  boolean restored() {
    try {
      String[] words = Files.readString(path, StandardCharsets.US_ASCII).trim().split("\\s+");
      return words.length > 1 && words[1].equals(RESTORED);
    } catch (IOException none) {
      return false;
    }
  }

  private static final String RESTORED = "restored";

  /** Marks the local file as of generation {@code name}, replacing the mark whole (written beside, then renamed). */
  void write(String name) throws IOException {
    write(name, false);
  }

  /** The same; {@code restored}: the file was restored from that generation, which another node writes. */
  void write(String name, boolean restored) throws IOException {
    Path temporary = path.resolveSibling(path.getFileName() + ".tmp");
    Files.writeString(temporary, name + (restored ? " " + RESTORED : "") + "\n", StandardCharsets.US_ASCII);
    Files.move(temporary, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
