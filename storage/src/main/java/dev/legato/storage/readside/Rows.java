package dev.legato.storage.readside;

import java.util.Objects;

/**
 * The rows of the read-side tables (schema in the module README). Times are epoch millis; payload-like
 * columns hold JSON documents whose shape the domain owns. Nullable components are marked in the schema.
 */
public final class Rows {
  private Rows() {}

  public record Turn(
      String turnId,
      long startedAt,
      Long completedAt,
      String status,
      Long inputTokens,
      Long outputTokens,
      Long cachedInputTokens,
      Long reasoningTokens,
      String error) {
    public Turn {
      Objects.requireNonNull(turnId, "turnId");
      Objects.requireNonNull(status, "status");
    }
  }

  public record Element(
      String itemId, String turnId, String kind, String status, String payload, long startedAt, Long completedAt) {
    public Element {
      Objects.requireNonNull(itemId, "itemId");
      Objects.requireNonNull(turnId, "turnId");
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(status, "status");
      Objects.requireNonNull(payload, "payload");
    }
  }

  public record Message(String messageId, String turnId, String role, String text, long createdAt) {
    public Message {
      Objects.requireNonNull(messageId, "messageId");
      Objects.requireNonNull(role, "role");
      Objects.requireNonNull(text, "text");
    }
  }

  public record Approval(
      String requestId,
      String turnId,
      String itemId,
      String kind,
      String payload,
      String decision,
      long requestedAt,
      Long decidedAt) {
    public Approval {
      Objects.requireNonNull(requestId, "requestId");
      Objects.requireNonNull(turnId, "turnId");
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(payload, "payload");
    }

    public boolean pending() {
      return decision == null;
    }
  }

  public record Diff(String turnId, String itemId, String path, String kind, String diff, long createdAt) {
    public Diff {
      Objects.requireNonNull(turnId, "turnId");
      Objects.requireNonNull(itemId, "itemId");
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(diff, "diff");
    }
  }

  public record Plan(String planId, String turnId, String steps, String explanation, long updatedAt) {
    public Plan {
      Objects.requireNonNull(planId, "planId");
      Objects.requireNonNull(turnId, "turnId");
      Objects.requireNonNull(steps, "steps");
    }
  }

  public record Memory(String key, String value, String metadata, long createdAt, long updatedAt) {
    public Memory {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value");
    }
  }

  /** @param coversTurns JSON array of the turn ids the summary covers, or null */
  public record Summary(String summary, String coversTurns, long createdAt) {
    public Summary {
      Objects.requireNonNull(summary, "summary");
    }
  }
}
