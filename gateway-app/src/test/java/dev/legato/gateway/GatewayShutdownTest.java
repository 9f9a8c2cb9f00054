package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stopping a node lets the running turn end durably before connections close; a new node resumes it. */
class GatewayShutdownTest {
  @TempDir Path data;

  Config config(PodiumEmulator emulator) {
    return ConfigFactory.parseMap(Map.of(
            "legato.storage.data-dir", data.toString(),
            "legato.podium.url", emulator.baseUrl(),
            "legato.gateway.port", "0",
            "pekko.loglevel", "WARNING"))
        .withFallback(ConfigFactory.load());
  }

  @Test
  void aGracefulStopLetsTheRunningTurnFinishThenANewNodeServesTheThread() throws Exception {
    try (PodiumEmulator emulator = PodiumEmulator.start(EmulatorSettings.defaults())) {
      String threadId;
      Gateway first = Gateway.start(config(emulator));
      try (CodexClient client = new CodexClient("ws://127.0.0.1:" + first.port())) {
        client.initialize();
        threadId = client.result("thread/start", params().put("model", "coder")).path("thread").path("id").asText();
        client.result("turn/start", params().put("threadId", threadId).put("text", "/slow /long 8 drain me"));
        client.notification("item/agentMessage/delta"); // the turn is streaming
        CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> {
          try {
            first.close();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
        // The client still sees its turn end, although the node is stopping.
        JsonNode completed = client.notification("turn/completed");
        assertEquals("completed", completed.path("params").path("turn").path("status").asText());
        assertFalse(first.ready(), "not ready while draining");
        stopping.get(60, TimeUnit.SECONDS);
        assertTrue(client.closed.get(10, TimeUnit.SECONDS) != null, "the connection closed");
      }

      try (Gateway second = Gateway.start(config(emulator));
           CodexClient client = new CodexClient("ws://127.0.0.1:" + second.port())) {
        client.initialize();
        JsonNode turns = client.result("thread/resume", params().put("threadId", threadId))
            .path("thread").path("turns");
        assertEquals(1, turns.size());
        assertEquals("completed", turns.get(0).path("status").asText(), "the turn ended durably before the stop");
      }
    }
  }
}
