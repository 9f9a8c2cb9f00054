package dev.legato.registry;

import com.typesafe.config.Config;

/** The {@code legato.registry} configuration (documented in reference.conf). */
public record RegistrySettings(int snapshotEvery, int defaultPageSize, int maxPageSize, int spareThreads) {
  public static RegistrySettings from(Config root) {
    Config c = root.getConfig("legato.registry");
    RegistrySettings settings = new RegistrySettings(
        c.getInt("snapshot-every"), c.getInt("default-page-size"), c.getInt("max-page-size"), c.getInt("spare-threads"));
    if (settings.snapshotEvery() < 1 || settings.defaultPageSize() < 1 || settings.maxPageSize() < settings.defaultPageSize()
        || settings.spareThreads() < 0) {
      throw new IllegalArgumentException("legato.registry: snapshot-every and default-page-size must be at least 1, "
          + "max-page-size at least default-page-size, spare-threads at least 0");
    }
    return settings;
  }
}
