package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.params;
import static dev.legato.gateway.LegatoUnderTest.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * How the gateway ends a socket that breaks its rules, seen by a real client: the close code says why (1009
 * too big, 1003 not text, 1008 no handshake), and one address holds at most its share of sockets.
 */
class GatewaySocketRulesTest {
  static final int MAX_MESSAGE = 4096;
  static final int PER_ADDRESS = 3;
  @RegisterExtension
  static final LegatoUnderTest legato = LegatoUnderTest.with(Map.of(
      "legato.gateway.max-message-size", String.valueOf(MAX_MESSAGE),
      "legato.gateway.handshake-timeout", "2s",
      "legato.gateway.max-connections-per-address", String.valueOf(PER_ADDRESS),
      "legato.gateway.limit-loopback", "on"));

  @Test
  void aTooLargeMessageClosesTheSocketWith1009() throws Exception {
    try (CodexClient client = legato.client()) {
      client.sendRaw(params().put("id", 9).put("method", "account/read")
          .put("padding", "x".repeat(MAX_MESSAGE * 2)).toString());
      JsonNode refused = client.next(m -> m.has("error"));
      assertTrue(refused.path("error").path("message").asText().contains("too large"), refused.toString());
      assertEquals(1009, client.closed.get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void aBinaryMessageClosesTheSocketWith1003() throws Exception {
    try (CodexClient client = legato.client()) {
      client.sendBinary(new byte[] {1, 2, 3});
      JsonNode refused = client.next(m -> m.has("error"));
      assertTrue(refused.path("error").path("message").asText().contains("text"), refused.toString());
      assertEquals(1003, client.closed.get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void aSocketThatNeverInitializesIsClosedWith1008AfterTheHandshakeTimeout() throws Exception {
    long opened = System.nanoTime();
    try (CodexClient silent = new CodexClient(legato.url)) {
      assertEquals(1008, silent.closed.get(30, TimeUnit.SECONDS));
      long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - opened);
      assertTrue(waited >= 1900, "not before the timeout: " + waited + " ms");
    }
    try (CodexClient prompt = legato.client()) { // one that initializes in time stays
      Thread.sleep(3000);
      assertTrue(prompt.result("account/read", params()).has("account"), "still served after the timeout");
      assertTrue(!prompt.closed.isDone(), "still open");
    }
  }

  @Test
  void anAddressOverItsShareOfSocketsIsRefusedWith429UntilOneCloses() throws Exception {
    List<CodexClient> held = new ArrayList<>();
    try {
      // Sockets of the other tests give their places back once closed; until then they count.
      eventually(Duration.ofSeconds(30), "this address holds its maximum of sockets", () -> {
        try {
          held.add(legato.client());
          return false;
        } catch (Exception | AssertionError refused) {
          return held.size() >= PER_ADDRESS;
        }
      });
      assertEquals(PER_ADDRESS, held.size());
      assertEquals(429, CodexClient.upgradeStatus(legato.url, Map.of()));
      String refusal = rawUpgrade();
      assertTrue(refusal.startsWith("HTTP/1.1 429"), refusal);
      assertTrue(refusal.contains("max-connections-per-address"), "the refusal says why: " + refusal);

      held.remove(0).close();
      eventually(Duration.ofSeconds(30), "a closed socket gives its place back",
          () -> upgradeStatus() == 101);
      try (CodexClient again = legato.client()) {
        assertTrue(again.result("account/read", params()).has("account"));
      }
    } finally {
      for (CodexClient client : held) {
        client.close();
      }
    }
  }

  /** A WebSocket upgrade by hand, to read the whole answer (the JDK client hides a refusal's body). */
  private static String rawUpgrade() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", legato.gateway.port())) {
      socket.setSoTimeout(30_000);
      socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
          + "Connection: Upgrade, close\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          + "Sec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static int upgradeStatus() {
    try {
      return CodexClient.upgradeStatus(legato.url, Map.of());
    } catch (Exception e) {
      return -1;
    }
  }
}
