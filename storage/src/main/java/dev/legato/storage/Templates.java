package dev.legato.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * New database files start as copies of an empty one with the current schema, made once per process:
 * creating the schema of a new thread's two files took ~6 ms (a dozen tables, pragmas, the switch to
 * WAL), copying them takes a small fraction of that. A copy is written beside its place and renamed into
 * it, so a crash never leaves half a file where a database is expected; whoever opens it first claims it
 * ({@code journal_meta}), as with a file SQLite creates.
 */
final class Templates {
  /** An empty session database (journal, read side). */
  static final Template SESSION = new Template(Schema.SESSION_MIGRATIONS);
  /** An empty memory database. */
  static final Template MEMORY = new Template(Schema.MEMORY_MIGRATIONS);

  private Templates() {}

  /** One schema's empty file, built on first use. */
  static final class Template {
    private final List<String> migrations;
    private volatile byte[] bytes;

    Template(List<String> migrations) {
      this.migrations = migrations;
    }

    /** Puts a copy at {@code file} unless a file is there. */
    void placeAt(Path file) {
      if (Files.exists(file)) {
        return;
      }
      place(bytes(), file);
    }

    /** The size of an empty file of this schema, in bytes. */
    long size() {
      return bytes().length;
    }

    private byte[] bytes() {
      byte[] template = bytes;
      if (template == null) {
        template = bytes = build(migrations);
      }
      return template;
    }
  }

  private static void place(byte[] template, Path file) {
    Path partial = file.resolveSibling(file.getFileName() + ".new");
    try {
      Files.write(partial, template, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
          StandardOpenOption.WRITE);
      Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new StorageException("cannot create " + file + ": " + e.getMessage(), e);
    }
  }

  /** An empty database in WAL mode with every migration applied, as bytes. */
  private static byte[] build(List<String> migrations) {
    Path directory = null;
    try {
      directory = Files.createTempDirectory("legato-template");
      Path file = directory.resolve("template.db");
      try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file)) {
        try (Statement statement = connection.createStatement()) {
          statement.execute("PRAGMA journal_mode = WAL");
        }
        Schema.migrate(connection, "main", migrations, 0);
      }
      return Files.readAllBytes(file);
    } catch (IOException | SQLException e) {
      throw new StorageException("cannot build an empty database to copy: " + e.getMessage(), e);
    } finally {
      if (directory != null) {
        try {
          StorageLayout.deleteTree(directory);
        } catch (IOException e) {
          // a temporary directory left behind
        }
      }
    }
  }
}
