package dev.legato.registry;

import com.typesafe.config.Config;
import java.time.Duration;

/** The {@code legato.registry} configuration (documented in reference.conf). */
public record RegistrySettings(int snapshotEvery, int defaultPageSize, int maxPageSize, int spareThreads,
                               Duration prepareSparesAfter) {
  public static RegistrySettings from(Config root) {
    Config c = root.getConfig("legato.registry");
    RegistrySettings settings = new RegistrySettings(
        c.getInt("snapshot-every"), c.getInt("default-page-size"), c.getInt("max-page-size"), c.getInt("spare-threads"),
        c.getDuration("prepare-spares-after"));
    if (settings.snapshotEvery() < 1 || settings.defaultPageSize() < 1 || settings.maxPageSize() < settings.defaultPageSize()
        || settings.spareThreads() < 0 || settings.prepareSparesAfter().isNegative()) {
      throw new IllegalArgumentException("legato.registry: snapshot-every and default-page-size must be at least 1, "
          + "max-page-size at least default-page-size, spare-threads and prepare-spares-after at least 0");
    }
    return settings;
  }
}
