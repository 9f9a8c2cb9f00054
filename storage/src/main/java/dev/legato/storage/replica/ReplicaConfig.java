package dev.legato.storage.replica;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/** {@code legato.storage.replica}, read and checked once (each key is documented in reference.conf). */
public final class ReplicaConfig {
  private ReplicaConfig() {}

  /** The node's replication, or null when {@code mode = off}. */
  public static Replication fromConfig(Config config, Path dataDir) {
    Replication.Mode mode;
    try {
      mode = Replication.Mode.valueOf(config.getString("mode").toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("legato.storage.replica.mode must be off, async or sync; got '" + config.getString("mode") + "'");
    }
    if (mode == Replication.Mode.OFF) {
      return null;
    }
    Replication.Settings settings = new Replication.Settings(
        mode,
        positive(config, "sync-interval"),
        Math.max(64 * 1024, config.getBytes("checkpoint-size")),
        Math.max(1, config.getInt("upload-threads")),
        positive(config, "min-backoff"),
        positive(config, "max-backoff"),
        config.getBytes("backlog"),
        positive(config, "retention"),
        config.getDuration("fence-check-interval"),
        positive(config, "retention-check-interval"),
        positive(config, "flush-interval"),
        Math.max(64 * 1024, config.getBytes("flush-size")),
        nonNegative(config, "layout-uploads"));
    return new Replication(settings, target(config, dataDir));
  }

  /** S3 when a bucket is configured, else a folder ({@code folder}, by default {@code <data-dir>/replicas}). */
  public static ReplicaTarget target(Config config, Path dataDir) {
    Config s3 = config.getConfig("s3");
    if (!s3.getIsNull("bucket") && !s3.getString("bucket").isBlank()) {
      return S3Target.fromConfig(s3);
    }
    if (!s3.getIsNull("url") && !s3.getString("url").isBlank()) {
      throw new IllegalArgumentException("legato.storage.replica.s3.url is set but not the bucket (--s3-bucket, LEGATO_S3_BUCKET)");
    }
    Path folder = config.getIsNull("folder") || config.getString("folder").isBlank()
        ? dataDir.resolve("replicas")
        : Path.of(config.getString("folder"));
    return new FileTarget(folder);
  }

  private static int nonNegative(Config config, String key) {
    int value = config.getInt(key);
    if (value < 0) {
      throw new IllegalArgumentException("legato.storage.replica." + key + " must be 0 (no limit) or more, not " + value);
    }
    return value;
  }

  private static Duration positive(Config config, String key) {
    Duration value = config.getDuration(key);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException("legato.storage.replica." + key + " must be positive");
    }
    return value;
  }
}
