package dev.legato.storage;

/** A persistenceId that cannot be mapped to a database file safely; nothing was read or written. */
public final class InvalidPersistenceIdException extends IllegalArgumentException {
  public InvalidPersistenceIdException(String message) {
    super(message);
  }
}
