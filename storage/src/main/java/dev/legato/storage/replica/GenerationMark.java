package dev.legato.storage.replica;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The mark beside a local database file ({@code session.db.generation}) naming the replica generation its
 * contents belong to: a file with an older mark than the replica's newest is a stale copy, one with none was
 * never replicated from here.
 */
final class GenerationMark {
  private final Path path;

  GenerationMark(Path database) {
    this.path = database.resolveSibling(database.getFileName() + ".generation");
  }

  /** The generation the local file belongs to, or null when it has no valid mark. */
  String read() {
    try {
      String name = Files.readString(path, StandardCharsets.US_ASCII).trim();
      return Generations.isName(name) ? name : null;
    } catch (IOException none) {
      return null;
    }
  }

  /** Marks the local file as of generation {@code name}, replacing the mark whole (written beside, then renamed). */
  void write(String name) throws IOException {
    Path temporary = path.resolveSibling(path.getFileName() + ".tmp");
    Files.writeString(temporary, name + "\n", StandardCharsets.US_ASCII);
    Files.move(temporary, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
