package dev.legato.storage;

import dev.legato.storage.readside.ReadSide;
import dev.legato.storage.readside.Rows;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;

/**
 * The SQL behind {@link ReadSide} for one open database. Statements are prepared once per connection;
 * {@link #begin(long)} sets the event whose rows follow. In memory-only mode (rebuilding memory.db from
 * the journal) writes to session.db tables are skipped.
 */
final class SqlReadSide implements ReadSide {
  private final Connection connection;
  private final boolean hasMemory;
  private boolean memoryOnly;
  private long seq;
  private boolean wroteMemory;

  private PreparedStatement turn;
  private PreparedStatement element;
  private PreparedStatement message;
  private PreparedStatement messageAppend;
  private PreparedStatement approval;
  private PreparedStatement diff;
  private PreparedStatement plan;
  private PreparedStatement memory;
  private PreparedStatement summary;

  SqlReadSide(Connection connection, boolean hasMemory) {
    this.connection = connection;
    this.hasMemory = hasMemory;
  }

  void begin(long sequenceNr, boolean memoryOnlyMode) {
    this.seq = sequenceNr;
    this.memoryOnly = memoryOnlyMode;
    this.wroteMemory = false;
  }

  /** Whether the current event wrote to memory.db. */
  boolean wroteMemory() {
    return wroteMemory;
  }

  @Override
  public void upsertTurn(Rows.Turn t) {
    if (memoryOnly) return;
    try {
      if (turn == null) {
        turn = connection.prepareStatement("""
            INSERT INTO turns (turn_id, started_at, completed_at, status, input_tokens, output_tokens,
                               cached_input_tokens, reasoning_tokens, error, first_seq, last_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (turn_id) DO UPDATE SET started_at = excluded.started_at,
              completed_at = excluded.completed_at, status = excluded.status,
              input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
              cached_input_tokens = excluded.cached_input_tokens, reasoning_tokens = excluded.reasoning_tokens,
              error = excluded.error, last_seq = excluded.last_seq""");
      }
      turn.setString(1, t.turnId());
      turn.setLong(2, t.startedAt());
      setLong(turn, 3, t.completedAt());
      turn.setString(4, t.status());
      setLong(turn, 5, t.inputTokens());
      setLong(turn, 6, t.outputTokens());
      setLong(turn, 7, t.cachedInputTokens());
      setLong(turn, 8, t.reasoningTokens());
      turn.setString(9, t.error());
      execute(turn, 10);
    } catch (SQLException e) {
      throw failure("turns", e);
    }
  }

  @Override
  public void upsertElement(Rows.Element e) {
    if (memoryOnly) return;
    try {
      if (element == null) {
        element = connection.prepareStatement("""
            INSERT INTO elements (item_id, turn_id, kind, status, payload, started_at, completed_at, first_seq, last_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (item_id) DO UPDATE SET turn_id = excluded.turn_id, kind = excluded.kind,
              status = excluded.status, payload = excluded.payload, started_at = excluded.started_at,
              completed_at = excluded.completed_at, last_seq = excluded.last_seq""");
      }
      element.setString(1, e.itemId());
      element.setString(2, e.turnId());
      element.setString(3, e.kind());
      element.setString(4, e.status());
      element.setString(5, e.payload());
      element.setLong(6, e.startedAt());
      setLong(element, 7, e.completedAt());
      execute(element, 8);
    } catch (SQLException ex) {
      throw failure("elements", ex);
    }
  }

  @Override
  public void upsertMessage(Rows.Message m) {
    if (memoryOnly) return;
    try {
      if (message == null) {
        message = connection.prepareStatement("""
            INSERT INTO messages (message_id, turn_id, role, text, created_at, first_seq, last_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (message_id) DO UPDATE SET turn_id = excluded.turn_id, role = excluded.role,
              text = excluded.text, last_seq = excluded.last_seq""");
      }
      message.setString(1, m.messageId());
      message.setString(2, m.turnId());
      message.setString(3, m.role());
      message.setString(4, m.text());
      message.setLong(5, m.createdAt());
      execute(message, 6);
    } catch (SQLException e) {
      throw failure("messages", e);
    }
  }

  @Override
  public void appendMessageText(Rows.Message m) {
    if (memoryOnly) return;
    try {
      if (messageAppend == null) {
        // An event applied again (its sequence number not above the row's last) appends nothing.
        messageAppend = connection.prepareStatement("""
            INSERT INTO messages (message_id, turn_id, role, text, created_at, first_seq, last_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (message_id) DO UPDATE SET
              text = CASE WHEN excluded.last_seq > messages.last_seq THEN messages.text || excluded.text
                          ELSE messages.text END,
              last_seq = max(messages.last_seq, excluded.last_seq)""");
      }
      messageAppend.setString(1, m.messageId());
      messageAppend.setString(2, m.turnId());
      messageAppend.setString(3, m.role());
      messageAppend.setString(4, m.text());
      messageAppend.setLong(5, m.createdAt());
      execute(messageAppend, 6);
    } catch (SQLException e) {
      throw failure("messages", e);
    }
  }

  @Override
  public void upsertApproval(Rows.Approval a) {
    if (memoryOnly) return;
    try {
      if (approval == null) {
        approval = connection.prepareStatement("""
            INSERT INTO approvals (request_id, turn_id, item_id, kind, payload, decision, requested_at, decided_at,
                                   first_seq, last_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (request_id) DO UPDATE SET turn_id = excluded.turn_id, item_id = excluded.item_id,
              kind = excluded.kind, payload = excluded.payload, decision = excluded.decision,
              decided_at = excluded.decided_at, last_seq = excluded.last_seq""");
      }
      approval.setString(1, a.requestId());
      approval.setString(2, a.turnId());
      approval.setString(3, a.itemId());
      approval.setString(4, a.kind());
      approval.setString(5, a.payload());
      approval.setString(6, a.decision());
      approval.setLong(7, a.requestedAt());
      setLong(approval, 8, a.decidedAt());
      execute(approval, 9);
    } catch (SQLException e) {
      throw failure("approvals", e);
    }
  }

  @Override
  public void upsertDiff(Rows.Diff d) {
    if (memoryOnly) return;
    try {
      if (diff == null) {
        diff = connection.prepareStatement("""
            INSERT INTO diffs (turn_id, item_id, path, kind, diff, created_at, first_seq, last_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (turn_id, item_id, path) DO UPDATE SET kind = excluded.kind, diff = excluded.diff,
              last_seq = excluded.last_seq""");
      }
      diff.setString(1, d.turnId());
      diff.setString(2, d.itemId());
      diff.setString(3, d.path());
      diff.setString(4, d.kind());
      diff.setString(5, d.diff());
      diff.setLong(6, d.createdAt());
      execute(diff, 7);
    } catch (SQLException e) {
      throw failure("diffs", e);
    }
  }

  @Override
  public void upsertPlan(Rows.Plan p) {
    if (memoryOnly) return;
    try {
      if (plan == null) {
        plan = connection.prepareStatement("""
            INSERT INTO plans (plan_id, turn_id, steps, explanation, updated_at, first_seq, last_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (plan_id) DO UPDATE SET turn_id = excluded.turn_id, steps = excluded.steps,
              explanation = excluded.explanation, updated_at = excluded.updated_at, last_seq = excluded.last_seq""");
      }
      plan.setString(1, p.planId());
      plan.setString(2, p.turnId());
      plan.setString(3, p.steps());
      plan.setString(4, p.explanation());
      plan.setLong(5, p.updatedAt());
      execute(plan, 6);
    } catch (SQLException e) {
      throw failure("plans", e);
    }
  }

  @Override
  public void putMemory(Rows.Memory m) {
    requireMemory();
    try {
      if (memory == null) {
        memory = connection.prepareStatement("""
            INSERT INTO mem.memories (key, value, metadata, created_at, updated_at, source_seq)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata,
              updated_at = excluded.updated_at, source_seq = excluded.source_seq""");
      }
      memory.setString(1, m.key());
      memory.setString(2, m.value());
      memory.setString(3, m.metadata());
      memory.setLong(4, m.createdAt());
      memory.setLong(5, m.updatedAt());
      memory.setLong(6, seq);
      memory.executeUpdate();
      wroteMemory = true;
    } catch (SQLException e) {
      throw failure("memories", e);
    }
  }

  @Override
  public void addSummary(Rows.Summary s) {
    requireMemory();
    try {
      if (summary == null) {
        summary = connection.prepareStatement("""
            INSERT INTO mem.summaries (source_seq, summary, covers_turns, created_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (source_seq) DO UPDATE SET summary = excluded.summary,
              covers_turns = excluded.covers_turns, created_at = excluded.created_at""");
      }
      summary.setLong(1, seq);
      summary.setString(2, s.summary());
      summary.setString(3, s.coversTurns());
      summary.setLong(4, s.createdAt());
      summary.executeUpdate();
      wroteMemory = true;
    } catch (SQLException e) {
      throw failure("summaries", e);
    }
  }

  void close() {
    for (PreparedStatement statement : new PreparedStatement[] {turn, element, message, approval, diff, plan, memory, summary}) {
      if (statement != null) {
        try {
          statement.close();
        } catch (SQLException ignored) {
          // the connection is closing anyway
        }
      }
    }
  }

  /** Binds first_seq and last_seq (both the current event; an update keeps first_seq) and runs it. */
  private void execute(PreparedStatement statement, int firstSeqIndex) throws SQLException {
    statement.setLong(firstSeqIndex, seq);
    statement.setLong(firstSeqIndex + 1, seq);
    statement.executeUpdate();
  }

  private void requireMemory() {
    if (!hasMemory) {
      throw new IllegalStateException("this persistenceId has no memory.db (no projection is registered for it)");
    }
  }

  private static void setLong(PreparedStatement statement, int index, Long value) throws SQLException {
    if (value == null) {
      statement.setNull(index, Types.INTEGER);
    } else {
      statement.setLong(index, value);
    }
  }

  private static StorageException failure(String table, SQLException e) {
    return new StorageException("writing " + table + " failed: " + e.getMessage(), e);
  }
}
