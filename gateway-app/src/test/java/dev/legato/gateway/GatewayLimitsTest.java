package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.completedText;
import static dev.legato.gateway.CodexClient.method;
import static dev.legato.gateway.CodexClient.params;
import static dev.legato.gateway.CodexClient.thread;
import static dev.legato.gateway.LegatoUnderTest.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The limits every connection is held to, with small values so that a test reaches them: message size,
 * request rate and the outbound queue of a client that does not read. Whatever happens to the connection,
 * its threads go on. And the controls a running turn has: steer and interrupt.
 */
class GatewayLimitsTest {
  static final int MAX_MESSAGE = 4096;
  @RegisterExtension
  static final LegatoUnderTest legato = LegatoUnderTest.with(Map.of(
      "legato.gateway.max-message-size", String.valueOf(MAX_MESSAGE),
      "legato.gateway.requests-per-second", "20",
      "legato.gateway.request-burst", "20",
      "legato.gateway.outbound-queue", "128",
      "legato.gateway.outbound-queue-bytes", "64KiB"));

  static String error(JsonNode response) {
    assertTrue(response.has("error"), "an error, not " + response);
    return response.path("error").path("message").asText();
  }

  /** Waits for the thread's last turn to end (asking another connection) and returns that turn. */
  static JsonNode lastTurnOnceEnded(CodexClient observer, String threadId) throws Exception {
    JsonNode[] last = new JsonNode[1];
    eventually(Duration.ofSeconds(120), "the thread's turn ends", () -> {
      JsonNode turns = observer.result("thread/read", thread(threadId).put("includeTurns", true))
          .path("thread").path("turns");
      last[0] = turns.isEmpty() ? null : turns.get(turns.size() - 1);
      return last[0] != null && !last[0].path("status").asText().equals("inProgress");
    });
    return last[0];
  }

  @Test
  void aTooLargeMessageClosesTheConnectionButNotItsThread() throws Exception {
    CodexClient client = legato.client();
    String threadId = client.startThread("coder");
    client.startTurn(threadId, "/slow outlives its client /long 20");
    client.next(m -> method(m).equals("item/agentMessage/delta"));
    client.sendRaw(params().put("id", 99).put("method", "turn/steer")
        .set("params", thread(threadId).put("content", "x".repeat(MAX_MESSAGE * 3))).toString());
    JsonNode refused = client.next(m -> m.has("error"));
    assertEquals(-32600, refused.path("error").path("code").asInt(), refused.toString());
    assertTrue(refused.path("error").path("message").asText().contains("too large"), refused.toString());
    client.closed.get(30, TimeUnit.SECONDS); // the gateway closed the socket

    try (CodexClient other = legato.client()) {
      JsonNode turn = lastTurnOnceEnded(other, threadId);
      assertEquals("completed", turn.path("status").asText(), turn.toString());
      assertTrue(turn.toString().contains("outlives its client"), turn.toString());
      assertFalse(turn.toString().contains("xxxxxxxx"), "the oversized steer never reached the agent");
      JsonNode resumed = other.result("thread/resume", thread(threadId));
      assertEquals(1, resumed.path("thread").path("turns").size());
    }
  }

  @Test
  void aBinaryMessageIsRefusedAndClosesTheConnection() throws Exception {
    CodexClient client = legato.client();
    client.sendBinary(new byte[] {1, 2, 3});
    JsonNode refused = client.next(m -> m.has("error"));
    assertTrue(refused.path("error").path("message").asText().contains("text"), refused.toString());
    client.closed.get(30, TimeUnit.SECONDS);
  }

  @Test
  void aFloodOfRequestsIsAnsweredOverloadedAndTheConnectionSurvives() throws Exception {
    try (CodexClient client = legato.client()) {
      client.drainFor(Duration.ofMillis(1100)); // a full bucket
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        ids.add(client.send("account/read", params()));
      }
      int overloaded = 0;
      int served = 0;
      for (String id : ids) {
        JsonNode response = client.response(id);
        if (response.path("error").path("code").asInt() == -32001) {
          overloaded++;
        } else {
          assertTrue(response.has("result"), response.toString());
          served++;
        }
      }
      assertEquals(100, overloaded + served, "every request is answered");
      assertTrue(served >= 20 && served < 60, "the burst and a little more are served: " + served);
      assertTrue(overloaded > 40, "the rest are refused: " + overloaded);
      eventually(Duration.ofSeconds(10), "the connection serves again once the rate allows",
          () -> !client.call("account/read", params()).has("error"));
      client.drainFor(Duration.ofMillis(200)); // a few tokens saved up again
      assertTrue(client.result("thread/list", params()).has("data"));
    }
  }

  @Test
  void aClientThatDoesNotReadIsDisconnectedWhileItsThreadFinishesTheTurn() throws Exception {
    CapturedLog log = new CapturedLog();
    try (CodexClient observer = legato.client()) {
      String threadId = observer.startThread("load");
      observer.result("thread/unsubscribe", thread(threadId)); // the observer only asks, it does not follow
      int deltas = 50_000;
      try (Socket deaf = new Socket()) {
        deaf.setReceiveBufferSize(4096); // small, and it is never read while the turn runs
        deaf.connect(new InetSocketAddress("127.0.0.1", legato.gateway.port()), 10_000);
        OutputStream out = deaf.getOutputStream();
        InputStream in = deaf.getInputStream();
        out.write(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        String upgrade = readHeaders(in);
        assertTrue(upgrade.startsWith("HTTP/1.1 101"), upgrade);
        ObjectNode init = params().put("id", 1).put("method", "initialize");
        init.putObject("params").putObject("clientInfo").put("name", "deaf").put("version", "1");
        sendText(out, init.toString());
        sendText(out, params().put("id", 2).put("method", "turn/start")
            .set("params", thread(threadId).put("text", deltas + " 100")).toString());

        JsonNode turn = lastTurnOnceEnded(observer, threadId);
        assertEquals("completed", turn.path("status").asText(), "the turn went on without its client");
        assertEquals(deltas * 100L, agentTextLength(turn), "and the whole answer was recorded");

        deaf.setSoTimeout(30_000);
        long read = 0;
        boolean disconnected = false;
        byte[] buffer = new byte[65536];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // pings would keep a live socket busy
        try {
          for (int n; !disconnected && System.nanoTime() < deadline; ) {
            n = in.read(buffer);
            disconnected = n < 0;
            read += Math.max(0, n);
          }
        } catch (IOException reset) {
          disconnected = true; // a reset is a disconnect too
        }
        assertTrue(disconnected, "the gateway never gave up on the client (" + read + " bytes read)");
        assertTrue(read < deltas * 100L, "the gateway gave up on the client long before the end: " + read + " bytes");
      }
      assertTrue(observer.result("account/read", params()).has("account"), "others are served as before");
    } finally {
      log.close();
    }
    List<ILoggingEvent> disconnects = log.events().stream()
        .filter(e -> e.getFormattedMessage().contains("does not keep up")).toList();
    assertEquals(1, disconnects.size(), "one line for the slow client: " + disconnects);
    assertEquals(Level.WARN, disconnects.get(0).getLevel());
    assertNull(disconnects.get(0).getThrowableProxy(), "without a stack trace");
    assertTrue(log.events().stream().noneMatch(e -> e.getLevel() == Level.ERROR || (e.getLevel() == Level.WARN
        && e.getThrowableProxy() != null)), "nothing else complains about it");
  }

  private static long agentTextLength(JsonNode turn) {
    long length = 0;
    for (JsonNode item : turn.path("items")) {
      if (item.path("type").asText().equals("agentMessage")) {
        length += item.path("text").asText().length();
      }
    }
    return length;
  }

  private static String readHeaders(InputStream in) throws IOException {
    ByteArrayOutputStream headers = new ByteArrayOutputStream();
    while (!headers.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      headers.write(b);
    }
    return headers.toString(StandardCharsets.US_ASCII);
  }

  /** One masked text frame (a zero mask: the payload goes as it is). */
  private static void sendText(OutputStream out, String text) throws IOException {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    ByteBuffer frame = ByteBuffer.allocate(payload.length + 14);
    frame.put((byte) 0x81);
    if (payload.length < 126) {
      frame.put((byte) (0x80 | payload.length));
    } else {
      frame.put((byte) (0x80 | 126)).putShort((short) payload.length);
    }
    frame.putInt(0).put(payload);
    out.write(frame.array(), 0, frame.position());
    out.flush();
  }

  @Test
  void steerAndInterruptReachTheRunningTurnAndAreRefusedWhenNoneRuns() throws Exception {
    try (CodexClient client = legato.client()) {
      String threadId = client.startThread("coder");
      assertTrue(error(client.call("turn/steer", thread(threadId).put("content", "too early"))).contains("no turn"));
      assertTrue(error(client.call("turn/interrupt", thread(threadId))).contains("no turn"));

      String turnId = client.startTurn(threadId, "/slow /long 20 steady");
      client.next(m -> method(m).equals("item/agentMessage/delta"));
      ObjectNode steer = thread(threadId).put("expectedTurnId", turnId);
      steer.putArray("input").addObject().put("type", "text").put("text", "go left");
      assertEquals(turnId, client.result("turn/steer", steer).path("turnId").asText());
      List<JsonNode> steered = client.untilTurnCompleted();
      assertTrue(completedText(steered).contains("(steered: go left)"), completedText(steered));

      String long_ = client.startTurn(threadId, "/slow /long 200 never finished");
      client.next(m -> method(m).equals("item/agentMessage/delta"));
      client.result("turn/interrupt", thread(threadId).put("turnId", long_));
      List<JsonNode> cut = client.untilTurnCompleted();
      JsonNode ended = cut.get(cut.size() - 1).path("params").path("turn");
      assertEquals(long_, ended.path("id").asText());
      assertEquals("interrupted", ended.path("status").asText(), ended.toString());
      assertFalse(completedText(cut).contains("never finished"), "it stopped where it was");

      assertTrue(error(client.call("turn/interrupt", thread(threadId))).contains("no turn"), "it is over");
      client.startTurn(threadId, "after the interrupt");
      assertTrue(completedText(client.untilTurnCompleted()).startsWith("You said: after the interrupt."));
    }
  }
}
