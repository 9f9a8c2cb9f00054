package dev.legato.podium.emulator;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A native-protocol WebSocket to one instance, recording every text frame it receives. */
final class AgentConnection implements WebSocket.Listener, AutoCloseable {
  static final long WAIT_SECONDS = 10;
  private final BlockingQueue<String> frames = new LinkedBlockingQueue<>();
  private final StringBuilder partial = new StringBuilder();
  /** Completes with the close status code, or -1 when the connection failed. */
  final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private WebSocket socket;

  /** When false, the connection reads nothing until {@link #read} is called: a stalled client. */
  private final boolean reading;

  private AgentConnection(boolean reading) {
    this.reading = reading;
  }

  static AgentConnection open(HttpClient http, URI uri, String key) {
    return open(http, uri, key, true);
  }

  static AgentConnection open(HttpClient http, URI uri, String key, boolean reading) {
    AgentConnection connection = new AgentConnection(reading);
    WebSocket.Builder builder = http.newWebSocketBuilder();
    if (key != null) {
      builder.header("Authorization", "Bearer " + key);
    }
    try {
      connection.socket = builder.buildAsync(uri, connection).get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new ConnectFailed(e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new IllegalStateException(e);
    }
    return connection;
  }

  /** The upgrade was refused; the cause is usually a WebSocketHandshakeException with the status. */
  static final class ConnectFailed extends RuntimeException {
    ConnectFailed(Throwable cause) {
      super(cause);
    }

    int status() {
      return getCause() instanceof java.net.http.WebSocketHandshakeException h ? h.getResponse().statusCode() : -1;
    }
  }

  void send(String json) {
    socket.sendText(json, true).join();
  }

  void processMessage(String messageId, String text) {
    send("{\"type\":\"process_message\",\"content\":{\"message_id\":\"" + messageId + "\",\"text\":"
        + TestClient.JSON.valueToTree(text) + ",\"messages\":[],\"attachments\":[]}}");
  }

  /** The next frame as text; fails the test after a while. */
  String nextText() {
    try {
      String frame = frames.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      if (frame == null) {
        fail("no frame within " + WAIT_SECONDS + " s");
      }
      return frame;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  JsonNode next() {
    try {
      return TestClient.JSON.readTree(nextText());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A frame's kind, from either field, as the adapter reads it. */
  static String kind(JsonNode frame) {
    if (frame.hasNonNull("messageType")) {
      return frame.get("messageType").asText();
    }
    return frame.path("content").path("event_type").asText(frame.path("type").asText());
  }

  /** Frames up to and including the first of the given kind. */
  List<JsonNode> until(String kind) {
    List<JsonNode> seen = new ArrayList<>();
    while (true) {
      JsonNode frame = next();
      seen.add(frame);
      if (kind(frame).equals(kind)) {
        return seen;
      }
    }
  }

  /** Skips to the first frame of the given kind and returns it. */
  JsonNode nextOf(String kind) {
    List<JsonNode> frames = until(kind);
    return frames.get(frames.size() - 1);
  }

  /** Nothing arrives within the given time. */
  boolean quietFor(long millis) throws InterruptedException {
    return frames.poll(millis, TimeUnit.MILLISECONDS) == null;
  }

  int awaitClose() {
    try {
      return closed.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException | ExecutionException | TimeoutException e) {
      throw new AssertionError("socket not closed within " + WAIT_SECONDS + " s", e);
    }
  }

  @Override
  public void onOpen(WebSocket webSocket) {
    if (reading) {
      webSocket.request(1);
    }
  }

  /** Starts reading on a connection opened without reading. */
  void read() {
    socket.request(1);
  }

  @Override
  public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
    partial.append(data);
    if (last) {
      frames.add(partial.toString());
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

  @Override
  public void close() {
    if (socket != null && !socket.isOutputClosed()) {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
    }
    socket.abort();
  }
}
