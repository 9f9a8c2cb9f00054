package dev.legato.storage.replica;

/** Replication could not do what a write or an open needed: the message says what and where. */
public final class ReplicaException extends RuntimeException {
  public ReplicaException(String message, Throwable cause) {
    super(message, cause);
  }
}
