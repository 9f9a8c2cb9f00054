package dev.legato.registry;

import dev.legato.serialization.CborSerializable;
import java.util.UUID;

/**
 * What a tenant's thread listing shows of one thread. Times are epoch millis; {@code preview} is the start
 * of the first user message (empty before the first turn; a fork's is the first message of the history it
 * was forked with), kept for good once set; {@code cwd} is the working directory the thread
 * was started in (null when none was given).
 */
public record ThreadSummary(
    UUID threadId, String name, String agentType, long createdAt, long updatedAt, String preview, boolean archived,
    String cwd) implements CborSerializable {

  ThreadSummary renamed(String newName) {
    return new ThreadSummary(threadId, newName, agentType, createdAt, updatedAt, preview, archived, cwd);
  }

  ThreadSummary touched(String newPreview, long at) {
    return new ThreadSummary(threadId, name, agentType, createdAt, Math.max(updatedAt, at),
        (preview == null || preview.isEmpty()) && newPreview != null ? newPreview : preview, archived, cwd);
  }

  ThreadSummary archived(boolean nowArchived, long at) {
    return new ThreadSummary(threadId, name, agentType, createdAt, Math.max(updatedAt, at), preview, nowArchived, cwd);
  }
}
