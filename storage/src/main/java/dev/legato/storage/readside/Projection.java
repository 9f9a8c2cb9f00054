package dev.legato.storage.readside;

/**
 * Turns a thread's events into read-side rows. The domain implements it and registers it by configuration
 * ({@code legato.storage.projections}); the journal calls it inside the transaction that stores the
 * event, so the rows and the events commit together or not at all. An implementation must be a pure
 * function of the event (it may be replayed to rebuild memory.db) and must not block on anything else.
 *
 * <p>A class registered by configuration needs a public constructor taking either nothing or the
 * {@code org.apache.pekko.actor.ActorSystem}.
 */
@FunctionalInterface
public interface Projection {
  /**
   * Writes what {@code event} changes. Throwing rejects the whole atomic write the event belongs to: its
   * events and rows are rolled back and the persisting actor is told the write was rejected.
   */
  void project(JournaledEvent event, ReadSide readSide) throws Exception;

  /**
   * One event as the projection sees it.
   *
   * @param payload the event object as the entity persisted it (tags and event adapters removed)
   * @param timestamp epoch millis when the journal wrote it
   */
  record JournaledEvent(String persistenceId, long sequenceNr, long timestamp, Object payload) {}
}
