package dev.legato.storage;

import dev.legato.storage.readside.Projection;
import dev.legato.storage.readside.ReadSide;
import dev.legato.storage.readside.Rows;

/**
 * A projection for tests: events are strings of words, e.g. {@code "turn t1 completed 10 20"}. The
 * event {@code "fail"} makes it throw, {@code "memory-then-fail k v"} writes a memory and then throws.
 */
public final class TestProjection implements Projection {
  @Override
  public void project(JournaledEvent event, ReadSide readSide) {
    if (!(event.payload() instanceof String text)) {
      return;
    }
    String[] w = text.split(" ", 7);
    long at = event.timestamp();
    switch (w[0]) {
      case "turn" -> readSide.upsertTurn(w[2].equals("started")
          ? new Rows.Turn(w[1], at, null, "inProgress", null, null, null, null, null)
          : new Rows.Turn(w[1], at, at, w[2], Long.parseLong(w[3]), Long.parseLong(w[4]), null, null,
              w[2].equals("failed") ? "agent error" : null));
      case "item" -> readSide.upsertElement(new Rows.Element(w[1], w[2], w[3], w[4], w[5], at,
          w[4].equals("completed") ? at : null));
      case "message" -> readSide.upsertMessage(new Rows.Message(w[1], w[2], w[3], text.split(" ", 5)[4], at));
      case "append" -> readSide.appendMessageText(new Rows.Message(w[1], w[2], w[3], text.split(" ", 5)[4], at));
      case "approval" -> readSide.upsertApproval(new Rows.Approval(w[1], w[2], null, w[3], "{}",
          w.length > 4 ? w[4] : null, at, w.length > 4 ? at : null));
      case "diff" -> readSide.upsertDiff(new Rows.Diff(w[1], w[2], w[3], w[4], w[5], at));
      case "plan" -> readSide.upsertPlan(new Rows.Plan(w[1], w[2], w[3], null, at));
      case "memory" -> readSide.putMemory(new Rows.Memory(w[1], w[2], null, at, at));
      case "summary" -> readSide.addSummary(new Rows.Summary(text.substring("summary ".length()), null, at));
      case "fail" -> throw new IllegalStateException("projection refused the event");
      case "memory-then-fail" -> {
        readSide.putMemory(new Rows.Memory(w[1], w[2], null, at, at));
        throw new IllegalStateException("projection refused after writing");
      }
      default -> { }
    }
  }
}
