package dev.legato.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A port Legato must bind is taken: {@code ./legato run} says so in one line and exits, and
 * {@link Gateway#start} leaves nothing running behind it.
 */
class GatewayPortInUseTest {
  static final Duration DEADLINE = Duration.ofSeconds(150); // a JVM, a cluster of one and its stop, on 2 busy cores
  @TempDir Path data;

  @Test
  void runPrintsOneLineAndExitsWhenTheWebSocketPortIsTaken() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Run run = run("--port", String.valueOf(taken.getLocalPort()), "--management-port", "0");
      assertNotEquals(0, run.exit, run.output);
      assertEquals("legato: port " + taken.getLocalPort() + " is in use; pass --port", run.lastLine(), run.output);
      assertFalse(run.output.contains("\tat ") || run.output.contains("Exception"), "no stack trace: " + run.output);
    }
  }

  @Test
  void runPrintsOneLineAndExitsWhenTheManagementPortIsTaken() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Run run = run("--port", "0", "--management-port", String.valueOf(taken.getLocalPort()));
      assertNotEquals(0, run.exit, run.output);
      assertEquals("legato: management port " + taken.getLocalPort() + " is in use; pass --management-port",
          run.lastLine(), run.output);
      assertFalse(run.output.contains("\tat ") || run.output.contains("Exception"), "no stack trace: " + run.output);
    }
  }

  @Test
  void startThatFindsTheManagementPortTakenFreesTheWebSocketPortItHadBound() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    try (PodiumEmulator emulator = PodiumEmulator.start(EmulatorSettings.defaults());
         ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Gateway.PortInUse failure = assertThrows(Gateway.PortInUse.class, () -> Gateway.start(ConfigFactory.parseMap(
              Map.of("legato.storage.data-dir", data.toString(), "legato.podium.url", emulator.baseUrl(),
                  "legato.gateway.port", String.valueOf(port),
                  "pekko.management.http.port", String.valueOf(taken.getLocalPort()),
                  "pekko.loglevel", "WARNING"))
          .withFallback(ConfigFactory.load())));
      assertEquals("pekko.management.http.port", failure.key());
      assertEquals(taken.getLocalPort(), failure.port());
      try (ServerSocket free = new ServerSocket(port, 50, InetAddress.getLoopbackAddress())) {
        assertEquals(port, free.getLocalPort(), "the gateway's own port was given back");
      }
      LegatoUnderTest.eventually(Duration.ofSeconds(20), "no thread of its actor system is left", () ->
          Thread.getAllStackTraces().keySet().stream()
              .noneMatch(t -> t.getName().startsWith("legato-pekko") && !t.isDaemon() && t.isAlive()));
    }
  }

  record Run(int exit, String output) {
    String lastLine() {
      List<String> lines = output.lines().filter(l -> !l.isBlank()).toList();
      return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }
  }

  /** {@code ./legato run} as it starts the gateway: Main in a JVM of its own, with the run's logging. */
  private Run run(String... args) throws Exception {
    Path output = Files.createTempFile(data, "run", ".log");
    List<String> command = new java.util.ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-Dlogback.configurationFile=legato-logback.xml",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--data", data.resolve("d").toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
    try {
      assertTrue(process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS),
          "still running after " + DEADLINE + ": " + read(output));
      return new Run(process.exitValue(), read(output));
    } finally {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }
}
