package dev.legato.storage.readside;

/**
 * Typed write access to a thread's read-side tables for the duration of one event. Every write is an
 * upsert on the row's key, so replaying an event is harmless; rows remember the first and last event that
 * wrote them. Memories and summaries go to memory.db, everything else to session.db.
 */
public interface ReadSide {
  void upsertTurn(Rows.Turn turn);

  void upsertElement(Rows.Element element);

  void upsertMessage(Rows.Message message);

  /**
   * Appends the message's text to its row, creating the row if needed: how a message streamed in windows
   * grows. The one exception to "every write is an upsert": an event applied again appends nothing.
   */
  void appendMessageText(Rows.Message message);

  void upsertApproval(Rows.Approval approval);

  void upsertDiff(Rows.Diff diff);

  void upsertPlan(Rows.Plan plan);

  /** Inserts or replaces the memory with this key; its creation time is kept on replace. */
  void putMemory(Rows.Memory memory);

  void addSummary(Rows.Summary summary);
}
