package dev.legato.storage.replica;

import java.io.IOException;
import java.time.Instant;
import java.util.List;

/**
 * Where replicas go: an object store with keys like paths ({@code sessions/<id>/session.db/generations/…}).
 * Two kinds: a folder ({@link FileTarget}, Litestream's {@code file} replica type) and S3. Blocking; called
 * from the replication's own threads, never from an actor's.
 */
public interface ReplicaTarget extends AutoCloseable {

  /** An object as listed: its key, its stored size and when it was written. */
  record Entry(String key, long size, Instant time) {}

  /**
   * Stores {@code body} under {@code key}, whole or not at all (a reader never sees half an object).
   * {@code time} is the moment the object stands for; targets that can keep it (a file's modification
   * time) do, S3 keeps the time of the upload.
   */
  void put(String key, byte[] body, Instant time) throws IOException;

  /** The object's bytes; {@link java.nio.file.NoSuchFileException} when there is none. */
  byte[] get(String key) throws IOException;

  /** Every object whose key starts with {@code prefix}, in key order. */
  List<Entry> list(String prefix) throws IOException;

  /**
   * The names one level below {@code prefix} (which ends with {@code /}) that hold objects, in order:
   * {@code children("a/")} with {@code a/b/c} and {@code a/d/e} gives {@code b, d}.
   */
  List<String> children(String prefix) throws IOException;

  /** Removes the objects; keys that do not exist are no error. */
  void delete(List<String> keys) throws IOException;

  /** Where the replicas go, for people: a folder or {@code s3://bucket/prefix}. */
  String describe();

  /** The URL the stock {@code litestream restore} takes for the replica at {@code root} (a key prefix). */
  String litestreamUrl(String root);

  @Override
  default void close() {}
}
