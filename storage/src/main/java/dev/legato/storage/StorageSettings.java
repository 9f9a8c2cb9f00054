package dev.legato.storage;

import com.typesafe.config.Config;
import com.sun.management.UnixOperatingSystemMXBean;
import com.typesafe.config.ConfigValue;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** The {@code legato.storage} configuration, read and checked once (see reference.conf for each key). */
record StorageSettings(
    Path dataDir,
    String synchronous,
    int writerThreads,
    int maxOpenDatabases,
    int maxBatch,
    long busyTimeoutMillis,
    long maxPageCount,
    Map<String, String> projections) {

  private static final Set<String> SYNCHRONOUS = Set.of("OFF", "NORMAL", "FULL", "EXTRA");
  private static final long PAGE_SIZE = 4096;

  static StorageSettings from(Config config) {
    String synchronous = config.getString("synchronous").toUpperCase(Locale.ROOT);
    if (!SYNCHRONOUS.contains(synchronous)) {
      throw new IllegalArgumentException(
          "legato.storage.synchronous must be one of off, normal, full, extra; got '" + config.getString("synchronous") + "'");
    }
    int writerThreads = config.getInt("writer-threads");
    if (writerThreads < 1) {
      throw new IllegalArgumentException("legato.storage.writer-threads must be at least 1");
    }
    int maxOpen = config.getString("max-open-databases").equals("auto")
        ? fromFileDescriptorLimit()
        : config.getInt("max-open-databases");
    if (maxOpen < 1) {
      throw new IllegalArgumentException("legato.storage.max-open-databases must be at least 1 or \"auto\"");
    }
    int maxBatch = config.getInt("max-batch");
    if (maxBatch < 1) {
      throw new IllegalArgumentException("legato.storage.max-batch must be at least 1");
    }
    long maxBytes = config.getIsNull("max-database-size") ? 0 : config.getBytes("max-database-size");
    Map<String, String> projections = new TreeMap<>();
    for (Map.Entry<String, ConfigValue> entry : config.getObject("projections").entrySet()) {
      projections.put(stripQuotes(entry.getKey()), String.valueOf(entry.getValue().unwrapped()));
    }
    return new StorageSettings(
        Path.of(config.getString("data-dir")),
        synchronous,
        writerThreads,
        maxOpen,
        maxBatch,
        config.getDuration("busy-timeout", TimeUnit.MILLISECONDS),
        maxBytes == 0 ? 0 : Math.max(1, maxBytes / PAGE_SIZE),
        Map.copyOf(projections));
  }

  /**
   * An open thread holds up to four descriptors (session.db and memory.db, each with its WAL); a quarter
   * of the process's limit goes to them, the rest to sockets (a client's and a link's per thread) and
   * everything else.
   */
  private static int fromFileDescriptorLimit() {
    long limit = 1024;
    if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix) {
      limit = unix.getMaxFileDescriptorCount();
    }
    return (int) Math.max(16, Math.min(4096, limit / 16));
  }

  private static String stripQuotes(String key) {
    return key.length() > 1 && key.startsWith("\"") && key.endsWith("\"") ? key.substring(1, key.length() - 1) : key;
  }
}
