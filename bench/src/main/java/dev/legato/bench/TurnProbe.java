package dev.legato.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One client of one thread, through the public protocol, for the cluster benchmark's failover and hand-off: it
 * starts a thread on the {@code echo} agent and then runs turn after turn, so that the time from a node's death (or
 * leave) to the first turn that completes again is what a busy client of an affected thread waits; and it keeps
 * which turns it was told completed, to find those a node's death lost.
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
  /** The turns this client was told completed (turn id → System.nanoTime when it was told), and the last one's time. */
  private final Map<String, Long> completed = new ConcurrentHashMap<>();
  private volatile long lastCompleted;

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

  /** Why the first turn did not complete (null: it did). */
  String startFailure;

  /** A connected client with a thread of its own and one completed turn (else {@link #startFailure} says why). */
  static TurnProbe start(HttpClient http, URI uri) throws Exception {
    TurnProbe probe = new TurnProbe(http, uri);
    probe.call("initialize", "{\"clientInfo\":{\"name\":\"legato-bench\",\"version\":\"1\"}}");
    probe.threadId = probe.call("thread/start", "{\"model\":\"echo\",\"cwd\":\"/tmp\"}")
        .path("result").path("thread").path("id").asText();
    probe.since = System.nanoTime();
    if (!probe.turnCompletes(60_000)) {
      probe.startFailure = "the first turn of thread " + probe.threadId + " did not complete: " + probe.tries();
    }
    return probe;
  }

  String threadId() {
    return threadId;
  }

  /** Runs turn after turn, as a busy client does, until {@code stop} is set; the times in {@code since} say when. */
  void runTurns(AtomicBoolean stop, long sinceNanos) throws Exception {
    tries.clear();
    since = sinceNanos;
    while (!stop.get()) {
      if (!turnCompletes(30_000)) {
        Thread.sleep(50);
      }
    }
  }

  /** Whether a turn completed after {@code nanos} (System.nanoTime). */
  boolean completedAfter(long nanos) {
    return lastCompleted - nanos > 0;
  }

  /**
   * The longest this client waited for a turn to complete after {@code signal} (System.nanoTime): from the signal
   * to the first completion after it, or between two completions, up to {@code until}, in ms; -1 when none came.
   */
  long longestWaitAfter(long signal, long until) {
    List<Long> times = completed.values().stream().filter(at -> at - signal > 0 && until - at >= 0).sorted().toList();
    if (times.isEmpty()) {
      return -1;
    }
    long longest = 0;
    long previous = signal;
    for (long at : times) {
      longest = Math.max(longest, at - previous);
      previous = at;
    }
    return longest / 1_000_000;
  }

  /**
   * The turns this client was told completed before {@code signal} (System.nanoTime) that the thread, read now, does
   * not hold as completed: each as its turn id and how long before the signal it completed (ms).
   */
  Map<String, Long> missingTurnsCompletedBefore(long signal) throws Exception {
    JsonNode read = call("thread/read", "{\"threadId\":\"" + threadId + "\",\"includeTurns\":true}");
    if (read == null || read.has("error")) {
      throw new IllegalStateException("thread/read of " + threadId + " failed: " + read);
    }
    Set<String> held = new HashSet<>();
    for (JsonNode turn : read.path("result").path("thread").path("turns")) {
      if (turn.path("status").asText().equals("completed")) {
        held.add(turn.path("id").asText());
      }
    }
    Map<String, Long> missing = new TreeMap<>();
    completed.forEach((turnId, at) -> {
      if (signal - at > 0 && !held.contains(turnId)) {
        missing.put(turnId, (signal - at) / 1_000_000);
      }
    });
    return missing;
  }

  /** How many turns this client was told completed before {@code signal}. */
  long turnsCompletedBefore(long signal) {
    return completed.values().stream().filter(at -> signal - at > 0).count();
  }

  /** One turn: true when it was accepted and completed within the limit. */
  private boolean turnCompletes(long limitMillis) throws Exception {
    JsonNode answer = call("turn/start", "{\"threadId\":\"" + threadId + "\",\"input\":[{\"type\":\"text\",\"text\":\"ping\"}]}");
    if (answer == null || answer.has("error")) {
      tries.add(at() + (answer == null ? "no answer" : answer.path("error").path("message").asText()));
      return false;
    }
    tries.add(at() + "accepted");
    String turnId = answer.path("result").path("turn").path("id").asText();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limitMillis);
    while (System.nanoTime() < deadline) {
      JsonNode message = inbox.poll(100, TimeUnit.MILLISECONDS);
      // its own turn's end: an earlier turn's (one a node's death cut short, told now) is not this one's
      if (message != null && message.path("method").asText().equals("turn/completed")
          && message.path("params").path("turn").path("id").asText().equals(turnId)) {
        String status = message.path("params").path("turn").path("status").asText();
        tries.add(at() + status);
        if (status.equals("completed")) {
          lastCompleted = System.nanoTime();
          completed.put(message.path("params").path("turn").path("id").asText(), lastCompleted);
          return true;
        }
        return false;
      }
    }
    tries.add(at() + "no turn/completed within " + limitMillis + " ms");
    return false;
  }

  /**
   * A request and its response; null when none came within 60 s. Notifications before it are dropped: Legato sends a
   * turn's notifications only after the answer to the turn/start that started it.
   */
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

  /** Whether a turn of {@link #runTurns} was accepted and then never heard of again within its limit. */
  boolean waitedInVain() {
    return tries.stream().anyMatch(attempt -> attempt.contains("no turn/completed"));
  }

  /** What the last tries of {@link #runTurns} came to. */
  String tries() {
    return String.join("; ", tries.subList(Math.max(0, tries.size() - 16), tries.size()));
  }

  @Override
  public void close() {
    socket.abort();
  }
}
