package dev.legato.storage;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The tables of a session database and of memory.db, versioned with {@code PRAGMA user_version}. Each
 * entry of a migration list moves a file one version forward; they run in one transaction on open. A file
 * is recognised by {@code PRAGMA application_id}, so a foreign SQLite file is refused rather than altered.
 */
final class Schema {
  /** "LGTO" — marks a file as Legato's. */
  static final int APPLICATION_ID = 0x4c47544f;

  static final List<String> SESSION_MIGRATIONS = List.of(
      """
      CREATE TABLE journal_meta (
        id             INTEGER PRIMARY KEY CHECK (id = 1),
        persistence_id TEXT    NOT NULL,
        deleted_to     INTEGER NOT NULL DEFAULT 0,  -- highest sequence number removed by deleteMessagesTo
        memory_seq     INTEGER NOT NULL DEFAULT 0   -- last event whose projection wrote to memory.db
      );
      CREATE TABLE journal (
        seq              INTEGER PRIMARY KEY,       -- the event's sequence number (rowid: appends are cheap)
        written_at       INTEGER NOT NULL,          -- epoch millis
        writer_uuid      TEXT    NOT NULL,
        adapter_manifest TEXT    NOT NULL,          -- event-adapter manifest of the PersistentRepr
        ser_id           INTEGER NOT NULL,
        ser_manifest     TEXT    NOT NULL,
        payload          BLOB    NOT NULL,
        tags             TEXT,                      -- comma-separated, NULL when untagged
        meta_ser_id      INTEGER,
        meta_manifest    TEXT,
        meta_payload     BLOB
      );
      CREATE TABLE snapshots (
        seq           INTEGER PRIMARY KEY,
        created_at    INTEGER NOT NULL,             -- SnapshotMetadata.timestamp, epoch millis
        ser_id        INTEGER NOT NULL,
        ser_manifest  TEXT    NOT NULL,
        payload       BLOB    NOT NULL,
        meta_ser_id   INTEGER,
        meta_manifest TEXT,
        meta_payload  BLOB
      );
      CREATE TABLE turns (
        turn_id             TEXT    PRIMARY KEY,
        started_at          INTEGER NOT NULL,
        completed_at        INTEGER,
        status              TEXT    NOT NULL,       -- e.g. inProgress, completed, failed, interrupted
        input_tokens        INTEGER,
        output_tokens       INTEGER,
        cached_input_tokens INTEGER,
        reasoning_tokens    INTEGER,
        error               TEXT,
        first_seq           INTEGER NOT NULL,       -- event that created the row: history order
        last_seq            INTEGER NOT NULL
      );
      CREATE INDEX turns_by_order ON turns (first_seq);
      CREATE TABLE elements (
        item_id      TEXT    PRIMARY KEY,
        turn_id      TEXT    NOT NULL,
        kind         TEXT    NOT NULL,              -- agentMessage, reasoning, toolCall, commandExecution, fileChange, …
        status       TEXT    NOT NULL,
        payload      TEXT    NOT NULL,              -- the item as the domain describes it (JSON)
        started_at   INTEGER NOT NULL,
        completed_at INTEGER,
        first_seq    INTEGER NOT NULL,
        last_seq     INTEGER NOT NULL
      );
      CREATE INDEX elements_by_turn ON elements (turn_id, first_seq);
      CREATE TABLE messages (
        message_id TEXT    PRIMARY KEY,
        turn_id    TEXT,
        role       TEXT    NOT NULL,                -- user or assistant
        text       TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        first_seq  INTEGER NOT NULL,
        last_seq   INTEGER NOT NULL
      );
      CREATE INDEX messages_by_order ON messages (first_seq);
      CREATE INDEX messages_by_turn ON messages (turn_id, first_seq);
      CREATE TABLE approvals (
        request_id   TEXT    PRIMARY KEY,
        turn_id      TEXT    NOT NULL,
        item_id      TEXT,
        kind         TEXT    NOT NULL,              -- command, file_change, permissions, question
        payload      TEXT    NOT NULL,
        decision     TEXT,                          -- NULL while pending
        requested_at INTEGER NOT NULL,
        decided_at   INTEGER,
        first_seq    INTEGER NOT NULL,
        last_seq     INTEGER NOT NULL
      );
      CREATE INDEX approvals_pending ON approvals (first_seq) WHERE decision IS NULL;
      CREATE INDEX approvals_by_turn ON approvals (turn_id, first_seq);
      CREATE TABLE diffs (
        turn_id    TEXT    NOT NULL,
        item_id    TEXT    NOT NULL,
        path       TEXT    NOT NULL,
        kind       TEXT    NOT NULL,                -- add, update, delete
        diff       TEXT    NOT NULL,                -- unified diff
        created_at INTEGER NOT NULL,
        first_seq  INTEGER NOT NULL,
        last_seq   INTEGER NOT NULL,
        PRIMARY KEY (turn_id, item_id, path)
      );
      CREATE INDEX diffs_by_turn ON diffs (turn_id, first_seq);
      CREATE TABLE plans (
        plan_id     TEXT    PRIMARY KEY,
        turn_id     TEXT    NOT NULL,
        steps       TEXT    NOT NULL,               -- JSON array of {step, status}
        explanation TEXT,
        updated_at  INTEGER NOT NULL,
        first_seq   INTEGER NOT NULL,
        last_seq    INTEGER NOT NULL
      );
      CREATE INDEX plans_by_turn ON plans (turn_id, first_seq);
      """);

  static final List<String> MEMORY_MIGRATIONS = List.of(
      """
      CREATE TABLE memories (
        key        TEXT    PRIMARY KEY,
        value      TEXT    NOT NULL,
        metadata   TEXT,                            -- JSON, NULL when none
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        source_seq INTEGER NOT NULL                 -- journal event that last wrote the row
      );
      CREATE INDEX memories_by_update ON memories (updated_at);
      CREATE TABLE summaries (
        source_seq  INTEGER PRIMARY KEY,            -- journal event that produced it: replays are idempotent
        summary     TEXT    NOT NULL,
        covers_turns TEXT,                          -- JSON array of turn ids, NULL when unknown
        created_at  INTEGER NOT NULL
      );
      CREATE INDEX summaries_by_time ON summaries (created_at);
      """);

  private Schema() {}

  /**
   * Reads the schema version of {@code schemaName} ("main" or an attached database) without writing.
   *
   * @return the version to migrate from (0 for a new, empty file)
   * @throws StorageException when the file is not Legato's or was written by a newer version
   */
  static int verify(Connection connection, String schemaName, List<String> migrations, Path file)
      throws SQLException {
    int applicationId = pragmaInt(connection, schemaName, "application_id");
    int version = pragmaInt(connection, schemaName, "user_version");
    if (applicationId != APPLICATION_ID
        && (applicationId != 0 || version != 0 || hasTables(connection, schemaName))) {
      throw new StorageException(file + " is not a Legato database (application_id 0x"
          + Integer.toHexString(applicationId) + ", user_version " + version + "); refusing to touch it");
    }
    if (version > migrations.size()) {
      throw new StorageException(file + " has schema version " + version + ", newer than this Legato knows ("
          + migrations.size() + "); refusing to touch it");
    }
    return applicationId == APPLICATION_ID ? version : 0;
  }

  /** Runs the migrations after {@code fromVersion} in one transaction and stamps the file as Legato's. */
  static void migrate(Connection connection, String schemaName, List<String> migrations, int fromVersion)
      throws SQLException {
    if (fromVersion == migrations.size()) {
      return;
    }
    boolean autoCommit = connection.getAutoCommit();
    connection.setAutoCommit(false);
    try (Statement statement = connection.createStatement()) {
      for (int next = fromVersion; next < migrations.size(); next++) {
        for (String ddl : migrations.get(next).split(";")) {
          if (!ddl.isBlank()) {
            statement.executeUpdate(qualify(ddl, schemaName));
          }
        }
      }
      statement.executeUpdate("PRAGMA " + schemaName + ".application_id = " + APPLICATION_ID);
      statement.executeUpdate("PRAGMA " + schemaName + ".user_version = " + migrations.size());
      connection.commit();
    } catch (SQLException | RuntimeException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(autoCommit);
    }
  }

  /** Places CREATE TABLE / CREATE INDEX statements into the given schema. */
  private static String qualify(String ddl, String schemaName) {
    if (schemaName.equals("main")) {
      return ddl;
    }
    return ddl.replaceFirst("CREATE TABLE ", "CREATE TABLE " + schemaName + ".")
        .replaceFirst("CREATE INDEX ", "CREATE INDEX " + schemaName + ".");
  }

  private static boolean hasTables(Connection connection, String schemaName) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT count(*) FROM " + schemaName + ".sqlite_master")) {
      return rows.next() && rows.getInt(1) > 0;
    }
  }

  private static int pragmaInt(Connection connection, String schemaName, String pragma) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("PRAGMA " + schemaName + "." + pragma)) {
      return rows.next() ? rows.getInt(1) : 0;
    }
  }
}
