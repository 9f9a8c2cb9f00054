package dev.legato.storage.replica;

import java.io.IOException;
import java.time.Instant;
import java.util.List;

/** A target that hands every call to another: tests override the calls they hold back or count. */
public abstract class ForwardingTarget implements ReplicaTarget {
  protected final ReplicaTarget inner;

  protected ForwardingTarget(ReplicaTarget inner) {
    this.inner = inner;
  }

  @Override
  public void put(String key, byte[] body, Instant time) throws IOException {
    inner.put(key, body, time);
  }

  @Override
  public byte[] get(String key) throws IOException {
    return inner.get(key);
  }

  @Override
  public List<Entry> list(String prefix) throws IOException {
    return inner.list(prefix);
  }

  @Override
  public List<String> children(String prefix) throws IOException {
    return inner.children(prefix);
  }

  @Override
  public void delete(List<String> keys) throws IOException {
    inner.delete(keys);
  }

  @Override
  public String describe() {
    return inner.describe();
  }

  @Override
  public String litestreamUrl(String root) {
    return inner.litestreamUrl(root);
  }
}
