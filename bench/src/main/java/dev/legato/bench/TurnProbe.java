package dev.legato.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One client of one thread, through the public protocol, for the cluster benchmark's failover and hand-off: it
 * starts a thread on the {@code echo} agent and then asks for turns until one completes, so that the time from a
 * node's death (or leave) to the first turn that completes again is what a client of an affected thread waits.
 */
final class TurnProbe implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final WebSocket socket;
  private final LinkedBlockingQueue<JsonNode> inbox = new LinkedBlockingQueue<>();
  private long nextId = 1;
  private String threadId;
  /** What each try of the last wait came to, with its time: said when a figure needs explaining. */
  private final java.util.List<String> tries = new java.util.ArrayList<>();
  private long since;

  private TurnProbe(HttpClient http, URI uri) throws Exception {
    socket = http.newWebSocketBuilder().buildAsync(uri, new WebSocket.Listener() {
      private final StringBuilder partial = new StringBuilder();

      @Override
      public void onOpen(WebSocket webSocket) {
        webSocket.request(1);
      }

      @Override
      public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
          try {
            inbox.add(JSON.readTree(partial.toString()));
          } catch (Exception e) {
            // not JSON: not for this probe
          }
          partial.setLength(0);
        }
        webSocket.request(1);
        return null;
      }
    }).get(30, TimeUnit.SECONDS);
  }

  /** A connected client with a thread of its own and one completed turn. */
  static TurnProbe start(HttpClient http, URI uri) throws Exception {
    TurnProbe probe = new TurnProbe(http, uri);
    probe.call("initialize", "{\"clientInfo\":{\"name\":\"legato-bench\",\"version\":\"1\"}}");
    probe.threadId = probe.call("thread/start", "{\"model\":\"echo\",\"cwd\":\"/tmp\"}")
        .path("result").path("thread").path("id").asText();
    if (!probe.turnCompletes(60_000)) {
      throw new IllegalStateException("the first turn of thread " + probe.threadId + " did not complete");
    }
    return probe;
  }

  String threadId() {
    return threadId;
  }

  /**
   * Asks for turns until one completes or {@code limitMillis} pass; the milliseconds from {@code sinceNanos} to
   * that completion, or -1.
   */
  long firstCompletedTurnAfter(long sinceNanos, long limitMillis) throws Exception {
    since = sinceNanos;
    tries.clear();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limitMillis);
    while (System.nanoTime() < deadline) {
      if (turnCompletes(TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))) {
        return (System.nanoTime() - sinceNanos) / 1_000_000;
      }
      Thread.sleep(50);
    }
    return -1;
  }

  /** One turn: true when it was accepted and completed within the limit. */
  private boolean turnCompletes(long limitMillis) throws Exception {
    JsonNode answer = call("turn/start", "{\"threadId\":\"" + threadId + "\",\"input\":[{\"type\":\"text\",\"text\":\"ping\"}]}");
    if (answer == null || answer.has("error")) {
      tries.add(at() + (answer == null ? "no answer" : answer.path("error").path("message").asText()));
      return false;
    }
    tries.add(at() + "accepted");
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limitMillis);
    while (System.nanoTime() < deadline) {
      JsonNode message = inbox.poll(100, TimeUnit.MILLISECONDS);
      if (message != null && message.path("method").asText().equals("turn/completed")) {
        String status = message.path("params").path("turn").path("status").asText();
        tries.add(at() + status);
        return status.equals("completed");
      }
    }
    return false;
  }

  /** A request and its response (other messages before it are dropped); null when none came within 60 s. */
  private JsonNode call(String method, String params) throws Exception {
    long id = nextId++;
    socket.sendText("{\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":" + params + "}", true).get(10, TimeUnit.SECONDS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      JsonNode message = inbox.poll(100, TimeUnit.MILLISECONDS);
      if (message != null && !message.has("method") && message.path("id").asLong() == id) {
        return message;
      }
    }
    return null;
  }

  private String at() {
    return (System.nanoTime() - since) / 1_000_000 + " ms: ";
  }

  /** What the tries of the last {@link #firstCompletedTurnAfter} came to. */
  String tries() {
    return String.join("; ", tries);
  }

  @Override
  public void close() {
    socket.abort();
  }
}
