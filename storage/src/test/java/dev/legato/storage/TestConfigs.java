package dev.legato.storage;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Actor-system configuration for tests: both plugins enabled, data in the given (temporary) folder. */
final class TestConfigs {
  private TestConfigs() {}

  /** Registers {@link TestProjection} for thread entities. */
  static final String WITH_PROJECTION =
      "legato.storage.projections { Thread = \"" + TestProjection.class.getName() + "\" }\n";

  static Config storage(Path dataDir) {
    return storage(dataDir, "");
  }

  static Config storage(Path dataDir, String extra) {
    return ConfigFactory.parseString(extra + "\n"
            + "pekko.persistence.journal.plugin = \"legato.storage.journal\"\n"
            + "pekko.persistence.snapshot-store.plugin = \"legato.storage.snapshot\"\n"
            + "pekko.loglevel = WARNING\n"
            + "legato.storage.data-dir = \"" + dataDir.toString().replace("\\", "\\\\") + "\"\n")
        .withFallback(ConfigFactory.load());
  }

  static Path tempDataDir(String prefix) {
    try {
      return Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
