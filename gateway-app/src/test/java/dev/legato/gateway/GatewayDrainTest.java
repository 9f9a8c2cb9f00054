package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.method;
import static dev.legato.gateway.LegatoUnderTest.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A node that stops drains in sight of its operators: {@code /readyz} and the management {@code /ready} answer
 * 503 with the reason while running turns end, new sockets are refused, the open ones are closed with 1001
 * (going away) once the turns are done, and the log says when it started, drained and stopped.
 */
class GatewayDrainTest {
  static final HttpClient HTTP = HttpClient.newHttpClient();

  static HttpResponse<String> get(String url) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(url + ": " + e, e);
    }
  }

  /** Stops the node as SIGTERM does, on another thread: it drains meanwhile. */
  private static CompletableFuture<Void> stopInTheBackground(LegatoUnderTest legato) {
    return CompletableFuture.runAsync(() -> {
      try {
        legato.gateway.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  @Test
  void whileDrainingReadinessAnswers503WithTheReasonAndSocketsCloseWithGoingAwayAtTheEnd() throws Exception {
    CapturedLog log = new CapturedLog();
    try (LegatoUnderTest legato = LegatoUnderTest.start(Map.of())) {
      String base = "http://127.0.0.1:" + legato.gateway.port();
      String management = "http://127.0.0.1:" + legato.gateway.managementPort();
      assertEquals(200, get(base + "/readyz").statusCode());
      assertEquals(200, get(management + "/ready").statusCode());
      assertEquals(200, get(management + "/alive").statusCode());

      CodexClient client = legato.client();
      String threadId = client.startThread("coder");
      client.startTurn(threadId, "/slow /long 40 drain me");
      client.next(m -> method(m).equals("item/agentMessage/delta")); // the turn is streaming

      CompletableFuture<Void> stopping = stopInTheBackground(legato);
      eventually(Duration.ofSeconds(20), "/readyz reports the drain", () -> get(base + "/readyz").statusCode() == 503);
      HttpResponse<String> readyz = get(base + "/readyz");
      assertEquals(503, readyz.statusCode());
      assertTrue(readyz.body().matches("draining: \\d+ turns still running"), readyz.body());
      HttpResponse<String> ready = get(management + "/ready");
      assertEquals(503, ready.statusCode(), ready.body());
      assertTrue(ready.body().startsWith("draining: "), ready.body());
      assertEquals(200, get(base + "/healthz").statusCode(), "alive while draining");
      assertEquals(503, CodexClient.upgradeStatus(legato.url, Map.of()), "no new sockets while draining");

      JsonNode completed = client.notification("turn/completed");
      assertEquals("completed", completed.path("params").path("turn").path("status").asText());
      assertEquals(1001, client.closed.get(30, TimeUnit.SECONDS), "closed as going away, with a close frame");
      stopping.get(60, TimeUnit.SECONDS);
    } finally {
      log.close();
    }
    List<String> info = log.info(Gateway.class);
    assertTrue(info.stream().anyMatch(line -> line.startsWith("Legato " + Gateway.VERSION + " started: listening on")
            && line.contains("management on port") && line.contains("Podium http") && line.contains("; auth: ")),
        info.toString());
    assertTrue(info.stream().anyMatch(line -> line.matches("draining: 1 turns running, 1 connections open.*")),
        info.toString());
    assertTrue(info.stream().anyMatch(
        line -> line.matches("drained in \\d+ ms: 0 turns still running.*closing 1 connections")), info.toString());
    assertTrue(info.contains("Legato stopped"), info.toString());
  }

  /**
   * The drain waits for the turns running when it began, not for those clients start meanwhile: on a busy node
   * (its threads' clients are on other nodes too, and go on) there would always be one, and it would wait its
   * whole timeout. On a node alone (its threads have no next node to start a turn on) a turn started during the drain
   * is left running, to be recorded interrupted, and the node still stops at once; in a cluster the thread starts
   * it on its next node instead ({@code ClusterGracefulLeaveTest}).
   */
  @Test
  void theDrainWaitsForTheTurnsRunningWhenItBeganNotForThoseStartedSince() throws Exception {
    CapturedLog log = new CapturedLog();
    long stopped;
    try (LegatoUnderTest legato = LegatoUnderTest.start(Map.of("legato.gateway.drain-timeout", "90s"))) {
      String base = "http://127.0.0.1:" + legato.gateway.port();
      CodexClient client = legato.client();
      String first = client.startThread("coder");
      String second = client.startThread("coder");
      client.startTurn(first, "/slow /long 12 before the drain"); // ~2 s
      client.next(m -> method(m).equals("item/agentMessage/delta"));

      long began = System.nanoTime();
      CompletableFuture<Void> stopping = stopInTheBackground(legato);
      eventually(Duration.ofSeconds(20), "/readyz reports the drain", () -> get(base + "/readyz").statusCode() == 503);
      String late = client.startTurn(second, "/slow /long 400 started during the drain"); // ~60 s
      JsonNode completed = client.next(m -> method(m).equals("turn/completed")
          && !m.path("params").path("turn").path("id").asText().equals(late));
      assertEquals("completed", completed.path("params").path("turn").path("status").asText());
      assertEquals(1001, client.closed.get(30, TimeUnit.SECONDS), "closed as going away once the first turn ended");
      stopping.get(60, TimeUnit.SECONDS);
      stopped = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
    } finally {
      log.close();
    }
    assertTrue(stopped < 30_000, "the node stopped in " + stopped + " ms, not after the late turn's minute");
    List<String> info = log.info(Gateway.class);
    assertTrue(info.stream().anyMatch(
        line -> line.matches("drained in \\d+ ms: 1 turns still running.*closing 1 connections")), info.toString());
  }
}
