package dev.legato.podium.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/** The embedded API as others use it: start, base URL, snapshot, settings, stop. */
class EmbeddedApiTest {

  @Test
  void startBindsALoopbackPortAndStopIsIdempotent() {
    PodiumEmulator emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    assertTrue(emulator.baseUrl().matches("http://127\\.0\\.0\\.1:\\d+"), emulator.baseUrl());
    assertEquals(emulator.baseUrl(), "http://127.0.0.1:" + emulator.port());
    TestClient client = new TestClient(emulator);
    String id = client.createInstance("echo:latest");
    assertTrue(emulator.instances().containsKey(id));
    emulator.stop();
    emulator.stop();
    assertThrows(RuntimeException.class, () -> client.get("/health"));
  }

  @Test
  void onAGivenActorSystemStopLeavesTheSystemRunning() {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "host");
    try {
      try (PodiumEmulator emulator = PodiumEmulator.start(system, EmulatorSettings.defaults())) {
        assertEquals(200, new TestClient(emulator).get("/health").statusCode());
      }
      assertFalse(system.getWhenTerminated().toCompletableFuture().isDone());
      // a second emulator fits on the same system
      try (PodiumEmulator again = PodiumEmulator.start(system, EmulatorSettings.defaults())) {
        assertEquals(200, new TestClient(again).get("/health").statusCode());
      }
    } finally {
      system.terminate();
    }
  }

  @Test
  void theStreamDelayPausesBetweenWords() {
    try (PodiumEmulator emulator = PodiumEmulator.start(
        EmulatorSettings.defaults().withStreamDelay(Duration.ofMillis(100)))) {
      TestClient client = new TestClient(emulator);
      try (AgentConnection socket = client.connect(client.createInstance("echo:latest"))) {
        long start = System.nanoTime();
        socket.processMessage("msg_d", "one two three four");
        socket.nextOf("complete");
        assertTrue(System.nanoTime() - start >= Duration.ofMillis(300).toNanos());
      }
    }
  }

  @Test
  void settingsRefuseNonsense() {
    EmulatorSettings defaults = EmulatorSettings.defaults();
    assertThrows(IllegalArgumentException.class, () -> defaults.withPort(70000));
    assertThrows(IllegalArgumentException.class, () -> defaults.withIdleTimeout(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> defaults.withStreamDelay(Duration.ofMillis(-1)));
    assertEquals(Spelling.SNAKE, Spelling.parse("snake"));
    assertEquals(Spelling.EVENT_TYPE_ONLY, Spelling.parse("event-type"));
  }

  @Test
  void aBusyPortIsAClearError() {
    try (PodiumEmulator first = PodiumEmulator.start(EmulatorSettings.defaults())) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> PodiumEmulator.start(EmulatorSettings.defaults().withPort(first.port())));
      assertTrue(e.getMessage().contains("bind"), e.getMessage());
    }
  }
}
