package dev.legato.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Recorder;

/**
 * One benchmark client on one WebSocket (the JDK's): {@code initialize}, {@code thread/start} on the
 * {@code load} agent (its latency kept), then, when given a prompt, {@code turn/start} after
 * {@code turn/start} while the meter runs. It reads Legato's Codex notifications
 * ({@code item/agentMessage/delta}, {@code turn/completed}) and the relay's native frames
 * ({@code text_delta}, {@code complete}, {@code error}) alike, and counts every timestamped delta of the
 * agent's text with its latency: the agent's send time leads each {@code size} characters (the load
 * agent's timestamp mode), and the emulator runs in this JVM, so both ends read one clock.
 */
final class LoadClient implements WebSocket.Listener {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String LEGATO_DELTA = "{\"method\":\"item/agentMessage/delta\"";
  private static final String LEGATO_TURN_DONE = "{\"method\":\"turn/completed\"";
  private static final String NATIVE = "{\"type\":\"update\",\"messageType\":\"";

  /** What all clients of one run add to. */
  static final class Meter {
    final LongAdder deltas = new LongAdder();
    final LongAdder turns = new LongAdder();
    final LongAdder failures = new LongAdder();
    final LongAdder closed = new LongAdder();
    /** Delta latency in microseconds. */
    final Recorder latency = new Recorder(3);
    final AtomicBoolean running = new AtomicBoolean(true);
    final int deltaBytes;
    volatile String lastFailure;

    Meter(int deltaBytes) {
      this.deltaBytes = deltaBytes;
    }
  }

  private final Meter meter;
  private final String prompt;
  private final CompletableFuture<LoadClient> started = new CompletableFuture<>();
  private WebSocket socket;
  private StringBuilder partial;
  private long nextId = 1;
  private long startSentAt;
  private volatile long lastSentAt;
  private CompletableFuture<WebSocket> sending = CompletableFuture.completedFuture(null);
  private volatile long startNanos;
  private volatile String threadId;
  private volatile boolean turnRunning;
  private volatile boolean open = true;

  private LoadClient(Meter meter, String prompt) {
    this.meter = meter;
    this.prompt = prompt;
  }

  /**
   * Connects, initializes and starts a thread; completes once the thread has started (and its first
   * turn is asked for, when {@code prompt} is given).
   */
  static CompletableFuture<LoadClient> start(HttpClient http, URI uri, Meter meter, String prompt) {
    LoadClient client = new LoadClient(meter, prompt);
    http.newWebSocketBuilder().buildAsync(uri, client).whenComplete((socket, error) -> {
      if (error != null) {
        client.started.completeExceptionally(error);
      }
    });
    return client.started.orTimeout(120, TimeUnit.SECONDS);
  }

  long startNanos() {
    return startNanos;
  }

  /** Connected: no close or failure seen since it started. */
  boolean open() {
    return open;
  }

  boolean turnRunning() {
    return turnRunning;
  }

  void close() {
    if (socket != null) {
      socket.abort();
    }
  }

  @Override
  public void onOpen(WebSocket webSocket) {
    socket = webSocket;
    send("initialize", "{\"clientInfo\":{\"name\":\"legato-bench\",\"version\":\"1\"}}");
    webSocket.request(1);
  }

  @Override
  public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
    if (!last) {
      (partial == null ? partial = new StringBuilder() : partial).append(data);
    } else if (partial != null) {
      String whole = partial.append(data).toString();
      partial = null;
      received(whole);
    } else {
      received(data.toString());
    }
    webSocket.request(1);
    return null;
  }

  @Override
  public void onError(WebSocket webSocket, Throwable error) {
    ended("socket failed: " + error);
  }

  @Override
  public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
    ended("socket closed: " + statusCode + " " + reason);
    return null;
  }

  private void ended(String why) {
    why += " (" + (socket == null ? "before opening" : "after request " + (nextId - 1)
        + String.format(", %.1f s after it was sent", (System.nanoTime() - lastSentAt) / 1e9)) + ")";
    meter.closed.increment();
    open = false;
    turnRunning = false;
    if (!started.isDone()) {
      started.completeExceptionally(new IllegalStateException(why));
    } else if (meter.running.get()) {
      meter.lastFailure = why;
    }
  }

  /** As a String: scanning the socket's CharBuffer through charAt cost the clients a third of their CPU. */
  private void received(String message) {
    if (message.startsWith(LEGATO_DELTA)) {
      deltas(message, message.indexOf("\"delta\":\"", LEGATO_DELTA.length()) + 9);
    } else if (message.startsWith(NATIVE)) {
      int kind = NATIVE.length();
      if (message.startsWith("text_delta\"", kind)) {
        deltas(message, message.indexOf("\"text\":\"", kind) + 8);
      } else if (message.startsWith("complete\"", kind) || message.startsWith("error\"", kind)) {
        turnEnded();
      }
    } else if (message.startsWith(LEGATO_TURN_DONE)) {
      turnEnded();
    } else if (message.startsWith("{\"id\":")) {
      response(message);
    }
  }

  /** Reads the send times that lead each {@code deltaBytes} characters of the text starting at {@code from}. */
  private void deltas(String message, int from) {
    if (from < 9) {
      return; // no text member: not a delta after all
    }
    long now = System.nanoTime();
    int size = meter.deltaBytes;
    int count = 0;
    for (int at = from; at + 20 <= message.length() && message.charAt(at) != '"'; at += size) {
      long sent = 0;
      boolean negative = message.charAt(at) == '-';
      for (int i = negative ? 1 : 0; i < 20; i++) {
        sent = sent * 10 + (message.charAt(at + i) - '0');
      }
      meter.latency.recordValue(Math.max(0, (now - (negative ? -sent : sent)) / 1000));
      count++;
    }
    meter.deltas.add(count);
  }

  private void turnEnded() {
    meter.turns.increment();
    turnRunning = false;
    if (meter.running.get()) {
      startTurn();
    }
  }

  private void startTurn() {
    turnRunning = true;
    send("turn/start", "{\"threadId\":\"" + threadId + "\",\"input\":[{\"type\":\"text\",\"text\":\"" + prompt + "\"}]}");
  }

  private void response(String text) {
    JsonNode message;
    try {
      message = JSON.readTree(text);
    } catch (Exception e) {
      return;
    }
    long id = message.path("id").asLong();
    if (message.has("error")) {
      String error = message.get("error").path("message").asText();
      if (id <= 2) {
        started.completeExceptionally(new IllegalStateException("request " + id + " failed: " + error));
        return;
      }
      // a turn refused (one still running, a limit): counted, and tried again a little later
      meter.failures.increment();
      meter.lastFailure = error;
      turnRunning = false;
      if (meter.running.get()) {
        CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS).execute(() -> {
          synchronized (this) {
            if (!turnRunning) {
              startTurn();
            }
          }
        });
      }
      return;
    }
    if (id == 1) {
      startSentAt = System.nanoTime();
      send("thread/start", "{\"model\":\"load\",\"cwd\":\"/tmp\"}");
    } else if (id == 2) {
      startNanos = System.nanoTime() - startSentAt;
      threadId = message.path("result").path("thread").path("id").asText();
      if (prompt != null && meter.running.get()) {
        startTurn();
      }
      started.complete(this);
    }
  }

  /**
   * Sends after the previous send completed: the JDK's WebSocket refuses a send while one is pending (the
   * answer to a request can arrive before its own send completes), and says so only in the future it
   * returns.
   */
  private synchronized void send(String method, String params) {
    lastSentAt = System.nanoTime();
    String text = "{\"id\":" + nextId++ + ",\"method\":\"" + method + "\",\"params\":" + params + "}";
    sending = sending.thenCompose(previous -> socket.sendText(text, true)).exceptionally(error -> {
      ended("send failed: " + error);
      return socket;
    });
  }

}
