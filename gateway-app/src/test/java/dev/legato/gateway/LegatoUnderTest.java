package dev.legato.gateway;

import static org.junit.jupiter.api.Assertions.fail;
import dev.legato.thread.ThreadCommand;

import com.typesafe.config.ConfigFactory;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import dev.legato.storage.StorageLayout;
import dev.legato.thread.ThreadEntity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A whole Legato: its own emulator as Podium, its own data directory of SQLite files and a gateway on a
 * free loopback port, configured with the given overrides of {@code reference.conf}. For a test class,
 * {@code @RegisterExtension static final LegatoUnderTest legato = LegatoUnderTest.with(...)} starts it
 * before the class's tests and stops it after them; {@link #start} starts one now.
 */
final class LegatoUnderTest implements AutoCloseable, BeforeAllCallback, AfterAllCallback {
  private final EmulatorSettings podium;
  private final Map<String, String> config;
  PodiumEmulator emulator;
  Gateway gateway;
  String url;
  /** The data folder made for it, removed when it stops. */
  private Path data;

  private LegatoUnderTest(EmulatorSettings podium, Map<String, String> config) {
    this.podium = podium;
    this.config = config;
  }

  static LegatoUnderTest with(Map<String, String> config) {
    return with(EmulatorSettings.defaults(), config);
  }

  static LegatoUnderTest with(EmulatorSettings podium, Map<String, String> config) {
    return new LegatoUnderTest(podium, config);
  }

  static LegatoUnderTest start(Map<String, String> config) throws Exception {
    LegatoUnderTest legato = with(config);
    legato.begin();
    return legato;
  }

  private void begin() throws Exception {
    emulator = PodiumEmulator.start(podium);
    try {
      data = Files.createTempDirectory("legato-e2e");
      Map<String, String> all = new HashMap<>(Map.of(
          "legato.storage.data-dir", data.toString(),
          "legato.podium.url", emulator.baseUrl(),
          "legato.gateway.port", "0",
          "pekko.loglevel", "WARNING"));
      all.putAll(config);
      gateway = Gateway.start(ConfigFactory.parseMap(all).withFallback(ConfigFactory.load()));
      url = "ws://127.0.0.1:" + gateway.port();
    } catch (Exception | Error e) {
      emulator.stop();
      throw e;
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    begin();
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    close();
  }

  /** A connected client that has done the handshake. */
  CodexClient client() throws Exception {
    return client(Map.of());
  }

  CodexClient client(Map<String, String> headers) throws Exception {
    CodexClient client = new CodexClient(url, headers);
    client.initialize();
    return client;
  }

  /** The thread's own view of itself (phase, turn, instance, link), asked of the real entity. */
  ThreadCommand.ThreadStatus status(String threadId) throws Exception {
    return ClusterSharding.get(gateway.system())
        .entityRefFor(ThreadEntity.TYPE_KEY, UUID.fromString(threadId).toString())
        .<ThreadCommand.ThreadStatus>ask(ThreadCommand.GetStatus::new, Duration.ofSeconds(30))
        .toCompletableFuture().get(40, TimeUnit.SECONDS);
  }

  /** Polls until {@code condition} holds; fails with {@code what} after {@code timeout}. */
  static void eventually(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("not within " + timeout + ": " + what);
      }
      Thread.sleep(50);
    }
  }

  @Override
  public void close() throws Exception {
    try {
      if (gateway != null) {
        gateway.close();
      }
    } finally {
      if (emulator != null) {
        emulator.stop();
      }
      if (data != null) {
        try {
          StorageLayout.deleteTree(data);
        } catch (IOException e) {
          System.out.println("could not remove " + data + ": " + e);
        }
      }
    }
  }
}
