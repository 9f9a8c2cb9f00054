package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The stock Litestream binary (v0.3.13), the oracle for Legato's replica layout. */
public final class Litestream {
  static final String BIN_PROPERTY = "legato.litestream.bin";

  private Litestream() {}

  /** The binary named by {@code -Dlegato.litestream.bin} or {@code LEGATO_LITESTREAM_BIN}; fails saying how to get it. */
  public static Path binary() {
    String configured = System.getProperty(BIN_PROPERTY, "");
    if (configured.isBlank()) {
      configured = System.getenv().getOrDefault("LEGATO_LITESTREAM_BIN", "");
    }
    if (configured.isBlank()) {
      fail("no Litestream binary: run ./legato test, or pass -D" + BIN_PROPERTY
          + "=\"$(scripts/provision-test-tools litestream | tail -1)\"");
    }
    Path binary = Path.of(configured);
    if (!Files.isExecutable(binary)) {
      fail(binary + " is not an executable Litestream binary; run scripts/provision-test-tools litestream");
    }
    return binary;
  }

  /** {@code litestream restore -o output url}, with the given environment; fails with its output unless it exits 0. */
  static String restore(Path binary, String url, Path output, Map<String, String> environment) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(binary.toString(), "restore", "-o", output.toString(), url));
    return run(command, environment);
  }

  static String restore(Path binary, String url, Path output) throws IOException, InterruptedException {
    return restore(binary, url, output, Map.of());
  }

  static String run(List<String> command, Map<String, String> environment) throws IOException, InterruptedException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(environment);
    Process process = builder.start();
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        fail("litestream did not finish in 60 s: " + command);
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, process.exitValue(), "litestream " + command + " said: " + output);
      return output;
    } finally {
      process.destroyForcibly();
    }
  }
}
