package dev.legato.registry;

import dev.legato.serialization.CborSerializable;
import java.util.Comparator;
import java.util.Locale;
import java.util.UUID;

/**
 * A page request for a tenant's threads.
 *
 * @param archived which threads: {@code ACTIVE} (the default listing), {@code ARCHIVED} or {@code ALL}
 * @param search case-insensitive text to find in names and previews; null or blank for all
 * @param sortBy newest first by creation or by last update
 * @param cursor where the previous page ended (its {@code nextCursor}); null for the first page
 * @param limit page size; 0 for the configured default
 */
public record ThreadQuery(Archived archived, String search, SortBy sortBy, String cursor, int limit)
    implements CborSerializable {

  public enum Archived { ACTIVE, ARCHIVED, ALL }

  public enum SortBy { CREATED, UPDATED }

  public static ThreadQuery firstPage() {
    return new ThreadQuery(Archived.ACTIVE, null, SortBy.UPDATED, null, 0);
  }

  boolean matches(ThreadSummary thread) {
    boolean archivedOk = switch (archived) {
      case ACTIVE -> !thread.archived();
      case ARCHIVED -> thread.archived();
      case ALL -> true;
    };
    if (!archivedOk) {
      return false;
    }
    if (search == null || search.isBlank()) {
      return true;
    }
    String needle = search.toLowerCase(Locale.ROOT);
    return thread.name().toLowerCase(Locale.ROOT).contains(needle)
        || thread.preview().toLowerCase(Locale.ROOT).contains(needle);
  }

  long sortKey(ThreadSummary thread) {
    return sortBy == SortBy.CREATED ? thread.createdAt() : thread.updatedAt();
  }

  /** Newest first; ties broken by id so that every thread has exactly one place. */
  Comparator<ThreadSummary> order() {
    return Comparator.comparingLong(this::sortKey).reversed().thenComparing(ThreadSummary::threadId);
  }

  /** Whether {@code thread} comes after the cursor position {@code (key, id)} in {@link #order()}. */
  boolean after(ThreadSummary thread, long key, UUID id) {
    long k = sortKey(thread);
    return k < key || k == key && thread.threadId().compareTo(id) > 0;
  }
}
