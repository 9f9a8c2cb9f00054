package dev.legato.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Many clients at once, each starting a thread and at once a streamed turn on it, against Podium in a process
 * of its own whose WebSocket upgrades are slow. A link's socket used to open after its reading stream had been
 * cancelled (Pekko's subscription timeout, 5 s by default, here 300 ms against 1 s upgrades): the link then
 * reconnected, the prompt had gone out on the first socket and its answer came there, and the turn waited
 * forever on the second one. Every turn must complete, with every delta.
 */
class GatewayStressTest {
  static final int CLIENTS = 24;
  static final int ROUNDS = 2;
  static final int DELTAS = 300;

  @Test
  void manyThreadsEachTakingATurnAtOnceAfterStartAllComplete() throws Exception {
    try (ExternalPodium podium = ExternalPodium.start()) {
      podium.fault("{\"action\":\"socket_latency\",\"millis\":1000}");
      Gateway gateway = Gateway.start(ConfigFactory.parseMap(Map.of(
              "legato.storage.data-dir", Files.createTempDirectory("legato-stress").toString(),
              "legato.podium.url", podium.url,
              "legato.gateway.port", "0",
              "pekko.loglevel", "WARNING",
              "pekko.stream.materializer.subscription-timeout.timeout", "300ms"))
          .withFallback(ConfigFactory.load()));
      ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
      try {
        String url = "ws://127.0.0.1:" + gateway.port();
        List<Future<String>> outcomes = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
          outcomes.add(clients.submit(() -> {
            try (CodexClient client = new CodexClient(url, Map.of())) {
              client.initialize();
              StringBuilder problems = new StringBuilder();
              for (int round = 0; round < ROUNDS; round++) {
                String threadId = client.startThread("load");
                client.startTurn(threadId, DELTAS + " 8");
                List<JsonNode> turn = client.untilTurnCompleted();
                String status = turn.get(turn.size() - 1).path("params").path("turn").path("status").asText();
                int characters = CodexClient.streamedText(turn).length();
                if (!status.equals("completed") || characters != DELTAS * 8) {
                  problems.append("thread ").append(threadId).append(": ").append(status).append(" with ")
                      .append(characters).append(" characters; ");
                }
              }
              return problems.toString();
            }
          }));
        }
        List<String> problems = new ArrayList<>();
        for (Future<String> outcome : outcomes) {
          String problem = outcome.get(3, TimeUnit.MINUTES);
          if (!problem.isEmpty()) {
            problems.add(problem);
          }
        }
        assertEquals(List.of(), problems, "every turn completes with every delta");
        assertTrue(gateway.ready());
      } finally {
        clients.shutdownNow();
        gateway.close();
      }
    }
  }
}
