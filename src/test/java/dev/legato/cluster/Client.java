package dev.legato.cluster;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A client of the public protocol (the Codex app-server JSON-RPC, one message per WebSocket text frame), as any
 * client of a Legato cluster connects to one of its nodes. What it receives waits in order until taken; the close
 * code the node ended the socket with is kept. (gateway-app's tests have a twin that also checks every message
 * against the pinned Codex schema; here only the cluster's behaviour is the subject.)
 */
final class Client implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  /** One answer on a loaded two-core machine running three nodes. */
  static final Duration TIMEOUT = Duration.ofSeconds(45);

  final String name;
  private final WebSocket socket;
  private final LinkedBlockingQueue<JsonNode> inbox = new LinkedBlockingQueue<>();
  private final List<JsonNode> held = new ArrayList<>();
  /** The close code the server ended the socket with (-1: it broke without one). */
  final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private long nextId = 1;

  private Client(String name, String url, String key) throws Exception {
    this.name = name;
    WebSocket.Builder builder = HttpClient.newHttpClient().newWebSocketBuilder();
    if (key != null) {
      builder.header("Authorization", "Bearer " + key);
    }
    socket = builder.buildAsync(URI.create(url), new WebSocket.Listener() {
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
            inbox.add(JSON.createObjectNode().put("unparseable", partial.toString()));
          }
          partial.setLength(0);
        }
        webSocket.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        closed.complete(statusCode);
        return null;
      }

      @Override
      public void onError(WebSocket webSocket, Throwable error) {
        closed.complete(-1);
      }
    }).get(20, TimeUnit.SECONDS);
  }

  /** A client of {@code node} that has done the handshake, as the first tenant of the node's API keys. */
  static Client of(Node node) throws Exception {
    return of(node, node.key("LEGATO_API_KEYS", null));
  }

  /** A client of {@code node} that has done the handshake, with {@code key} (none: null). */
  static Client of(Node node, String key) throws Exception {
    Client client = new Client("client of " + node.name, node.url(), key);
    client.result("initialize", params().set("clientInfo", JSON.createObjectNode().put("name", "cluster-test").put("version", "1")));
    client.socket.sendText("{\"method\":\"initialized\"}", true).join();
    return client;
  }

  static ObjectNode params() {
    return JSON.createObjectNode();
  }

  static ObjectNode thread(String threadId) {
    return params().put("threadId", threadId);
  }

  static String method(JsonNode message) {
    return message.path("method").asText();
  }

  String send(String method, ObjectNode params) {
    String id = String.valueOf(nextId++);
    ObjectNode message = JSON.createObjectNode().put("id", Long.parseLong(id)).put("method", method);
    message.set("params", params);
    socket.sendText(message.toString(), true).join();
    return id;
  }

  /** A call and its whole response (result or error); other messages are kept for later. */
  JsonNode call(String method, ObjectNode params) {
    String id = send(method, params);
    return next(m -> m.has("id") && !m.has("method") && m.get("id").asText().equals(id));
  }

  /** The result of a call that must succeed. */
  JsonNode result(String method, ObjectNode params) {
    JsonNode response = call(method, params);
    if (response.has("error")) {
      fail(name + ": " + method + " failed: " + response.get("error"));
    }
    return response.get("result");
  }

  String startThread(String model) {
    return result("thread/start", params().put("model", model)).path("thread").path("id").asText();
  }

  String startTurn(String threadId, String text) {
    ObjectNode params = thread(threadId);
    params.putArray("input").addObject().put("type", "text").put("text", text);
    return result("turn/start", params).path("turn").path("id").asText();
  }

  /** Every message up to and including the next {@code turn/completed}. */
  List<JsonNode> untilTurnCompleted() {
    return until(m -> method(m).equals("turn/completed"));
  }

  /** The text of the last agentMessage item completed in these messages, or null. */
  static String completedText(List<JsonNode> messages) {
    String text = null;
    for (JsonNode m : messages) {
      if (method(m).equals("item/completed") && m.path("params").path("item").path("type").asText().equals("agentMessage")) {
        text = m.path("params").path("item").path("text").asText();
      }
    }
    return text;
  }

  /** The deltas of the agent's answer in these messages, concatenated. */
  static String streamedText(List<JsonNode> messages) {
    StringBuilder text = new StringBuilder();
    messages.stream().filter(m -> method(m).equals("item/agentMessage/delta"))
        .forEach(m -> text.append(m.path("params").path("delta").asText()));
    return text.toString();
  }

  /** The agent's text in a turn of a Codex thread (its agentMessage items). */
  static String agentText(JsonNode turn) {
    StringBuilder text = new StringBuilder();
    for (JsonNode item : turn.path("items")) {
      if (item.path("type").asText().equals("agentMessage")) {
        text.append(item.path("text").asText());
      }
    }
    return text.toString();
  }

  /** Every message up to and including the first that matches, in order. */
  List<JsonNode> until(Predicate<JsonNode> last) {
    List<JsonNode> seen = new ArrayList<>(held);
    held.clear();
    for (int i = 0; i < seen.size(); i++) {
      if (last.test(seen.get(i))) {
        held.addAll(seen.subList(i + 1, seen.size()));
        return new ArrayList<>(seen.subList(0, i + 1));
      }
    }
    while (true) {
      JsonNode message = take();
      seen.add(message);
      if (last.test(message)) {
        return seen;
      }
    }
  }

  /**
   * Every message up to and including the first that matches, or, when the socket closes first, every message
   * it received before it closed.
   */
  List<JsonNode> untilOrClosed(Predicate<JsonNode> last) throws InterruptedException {
    List<JsonNode> seen = new ArrayList<>(held);
    held.clear();
    for (int i = 0; i < seen.size(); i++) {
      if (last.test(seen.get(i))) {
        held.addAll(seen.subList(i + 1, seen.size()));
        return new ArrayList<>(seen.subList(0, i + 1));
      }
    }
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      JsonNode message = inbox.poll(100, TimeUnit.MILLISECONDS);
      if (message != null) {
        seen.add(message);
        if (last.test(message)) {
          return seen;
        }
      } else if (closed.isDone()) {
        return seen;
      } else if (System.nanoTime() > deadline) {
        fail(name + ": neither the message awaited nor a close within " + TIMEOUT + "; got " + seen);
      }
    }
  }

  /** The next message that matches (others before it are kept). */
  JsonNode next(Predicate<JsonNode> wanted) {
    for (int i = 0; i < held.size(); i++) {
      if (wanted.test(held.get(i))) {
        return held.remove(i);
      }
    }
    while (true) {
      JsonNode message = take();
      if (wanted.test(message)) {
        return message;
      }
      held.add(message);
    }
  }

  /** Everything held and everything that arrives within this long, in order. */
  List<JsonNode> drainFor(Duration duration) throws InterruptedException {
    List<JsonNode> all = new ArrayList<>(held);
    held.clear();
    long deadline = System.nanoTime() + duration.toNanos();
    long left;
    while ((left = deadline - System.nanoTime()) > 0) {
      JsonNode message = inbox.poll(left, TimeUnit.NANOSECONDS);
      if (message != null) {
        all.add(message);
      }
    }
    return all;
  }

  private JsonNode take() {
    try {
      JsonNode message = inbox.poll(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      assertNotNull(message, name + ": nothing within " + TIMEOUT + (closed.isDone() ? " (closed with " + closed.join() + ")" : "")
          + "; held: " + held);
      if (message.has("unparseable")) {
        fail(name + ": not JSON: " + message);
      }
      return message;
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Drops the connection without a closing handshake. */
  void abort() {
    socket.abort();
  }

  @Override
  public void close() {
    if (!socket.isOutputClosed()) {
      try {
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        socket.abort();
      }
    }
  }
}
