package dev.legato.storage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;

/**
 * Where each persistenceId lives on disk. Thread entities ({@code Thread|<uuid>}) own
 * {@code sessions/<uuid>/session.db} (and {@code memory.db} beside it); every other id gets a folder under
 * {@code entities/} whose name is derived from a hash of the id, so no id can reach outside the data
 * directory and no two ids share a file.
 */
public final class StorageLayout {
  /** The entity type name of thread entities, the part of their persistenceId before {@code |}. */
  public static final String THREAD_TYPE = "Thread";

  public static final String SESSION_FILE = "session.db";
  public static final String MEMORY_FILE = "memory.db";
  static final String ENTITY_FILE = "journal.db";
  private static final int MAX_ID_LENGTH = 512;
  private static final int READABLE_PREFIX = 48;

  private final Path dataDir;

  public StorageLayout(Path dataDir) {
    this.dataDir = dataDir.toAbsolutePath().normalize();
  }

  public Path dataDir() {
    return dataDir;
  }

  /**
   * The key prefix of a database file's replica: its path below the data directory, with {@code /}
   * ({@code sessions/<uuid>/session.db}), so a replica reads like the data directory it mirrors.
   */
  public String replicaRoot(Path database) {
    Path relative = dataDir.relativize(database.toAbsolutePath().normalize());
    return relative.toString().replace(java.io.File.separatorChar, '/');
  }

  /** The folder of one thread: {@code <data>/sessions/<uuid>}. */
  public Path threadDirectory(UUID threadId) {
    return dataDir.resolve("sessions").resolve(threadId.toString());
  }

  /**
   * Removes a folder and everything in it, such as a data directory after its actor system terminated;
   * nothing when it is not there, and no error for files that vanish meanwhile.
   */
  public static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
        if (e instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE; // SQLite removes a database's -wal and -shm files as it closes it
        }
        throw e;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.deleteIfExists(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        if (e != null && !(e instanceof NoSuchFileException)) {
          throw e;
        }
        Files.deleteIfExists(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** The persistenceId that a thread entity with this id persists under. */
  public static String threadPersistenceId(UUID threadId) {
    return THREAD_TYPE + "|" + threadId;
  }

  /**
   * Resolves a persistenceId to its database location.
   *
   * @throws InvalidPersistenceIdException when the id is empty, too long, holds control characters, or
   *     claims to be a thread id without being {@code Thread|<canonical lower-case uuid>}
   */
  public Location locate(String persistenceId) {
    validate(persistenceId);
    int bar = persistenceId.indexOf('|');
    String type = bar < 0 ? "" : persistenceId.substring(0, bar);
    if (type.equals(THREAD_TYPE)) {
      UUID threadId = parseThreadId(persistenceId.substring(bar + 1), persistenceId);
      Path dir = threadDirectory(threadId);
      return new Location(persistenceId, type, dir, dir.resolve(SESSION_FILE), dir.resolve(MEMORY_FILE));
    }
    Path dir = dataDir.resolve("entities").resolve(folderName(persistenceId));
    return new Location(persistenceId, type, dir, dir.resolve(ENTITY_FILE), dir.resolve(MEMORY_FILE));
  }

  /** Parses a canonical, lower-case UUID (the only form a thread id may take on disk). */
  public static UUID parseThreadId(String text, String context) {
    try {
      UUID id = UUID.fromString(text);
      if (id.toString().equals(text)) {
        return id;
      }
    } catch (IllegalArgumentException notAUuid) {
      // reported below with the whole id for context
    }
    throw new InvalidPersistenceIdException(
        "thread persistenceId must be 'Thread|<lower-case uuid>', got '" + printable(context) + "'");
  }

  private static void validate(String persistenceId) {
    if (persistenceId == null || persistenceId.isEmpty()) {
      throw new InvalidPersistenceIdException("persistenceId must not be empty");
    }
    if (persistenceId.length() > MAX_ID_LENGTH) {
      throw new InvalidPersistenceIdException(
          "persistenceId is " + persistenceId.length() + " characters long, the limit is " + MAX_ID_LENGTH);
    }
    for (int i = 0; i < persistenceId.length(); i++) {
      char c = persistenceId.charAt(i);
      if (Character.isISOControl(c) || Character.isSurrogate(c) && !validSurrogateAt(persistenceId, i)) {
        throw new InvalidPersistenceIdException(
            "persistenceId holds a control or malformed character at index " + i + ": '" + printable(persistenceId) + "'");
      }
    }
  }

  private static boolean validSurrogateAt(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c)) {
      return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
    }
    return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
  }

  /** A readable prefix for operators plus 128 bits of SHA-256 for uniqueness. */
  private static String folderName(String persistenceId) {
    StringBuilder readable = new StringBuilder();
    for (int i = 0; i < persistenceId.length() && readable.length() < READABLE_PREFIX; i++) {
      char c = persistenceId.charAt(i);
      boolean safe = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_';
      readable.append(safe ? c : '_');
    }
    return readable + "-" + HexFormat.of().formatHex(sha256(persistenceId), 0, 16);
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException impossible) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", impossible);
    }
  }

  private static String printable(String s) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length() && i < 80; i++) {
      char c = s.charAt(i);
      out.append(Character.isISOControl(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c));
    }
    return s.length() > 80 ? out + "…" : out.toString();
  }

  /**
   * One persistenceId's place on disk.
   *
   * @param type the entity type, the part of the id before {@code |} (empty when there is none)
   */
  public record Location(String persistenceId, String type, Path directory, Path database, Path memoryDatabase) {}
}
