package dev.legato.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.gateway.auth.Identity;
import dev.legato.gateway.protocol.Json;
import dev.legato.gateway.protocol.JsonRpc;
import dev.legato.gateway.protocol.JsonRpc.Failure;
import dev.legato.thread.FailureKind;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.pattern.StatusReply;

/**
 * The JSON-RPC side of one connection: reads the client's messages (well-formed, within the request rate,
 * after the handshake), sends replies, notifications and errors (a refused request gets an error saying
 * whose fault it is), continues a request on the actor once what it asked has answered, and cuts off a
 * client that does not read what it is sent. Used by its {@link Connection} only, on the actor.
 */
final class JsonRpcSession {
  /** A client message that needs more than the session: a request to serve, or an answer to one of ours. */
  sealed interface Incoming {}

  /** A request: a method, an id to answer, and params (an empty object when it sent none). */
  record Request(JsonNode id, String method, ObjectNode params) implements Incoming {}

  /** The client's answer ({@code result} or {@code error}) to the server request with this id. */
  record Answer(JsonNode id, JsonNode message) implements Incoming {}

  private final ActorContext<Connection.Command> context;
  private final Identity identity;
  private final GatewaySettings settings;
  private final GatewayMetrics metrics;
  private final Outbox out;
  private final RequestRate rate;
  private boolean initialized;
  private boolean closing;

  JsonRpcSession(ActorContext<Connection.Command> context, Identity identity, GatewaySettings settings,
                 GatewayMetrics metrics, Outbox out) {
    this.context = context;
    this.identity = identity;
    this.settings = settings;
    this.metrics = metrics;
    this.out = out;
    this.rate = new RequestRate(settings.requestsPerSecond(), settings.requestBurst());
  }

  // ---- client → Legato -----------------------------------------------------------------------------------

  /**
   * What the client's message asks; null when the session has dealt with it: refused it with an error, or it
   * is a notification ({@code initialized}), which needs no answer.
   */
  Incoming read(String text) {
    JsonNode message;
    try {
      message = Json.read(text);
    } catch (JsonProcessingException e) {
      send(JsonRpc.error(null, JsonRpc.PARSE_ERROR, "not JSON: " + e.getOriginalMessage()));
      return null;
    }
    if (message == null || !message.isObject()) {
      send(JsonRpc.error(null, JsonRpc.INVALID_REQUEST, "a JSON-RPC message is a JSON object"));
      return null;
    }
    JsonNode id = message.get("id");
    JsonNode method = message.get("method");
    if (method == null) {
      if (id != null && (message.has("result") || message.has("error"))) {
        return new Answer(id, message);
      }
      send(JsonRpc.error(id, JsonRpc.INVALID_REQUEST, "a request needs a method"));
      return null;
    }
    if (!method.isTextual()) {
      send(JsonRpc.error(id, JsonRpc.INVALID_REQUEST, "method must be a string"));
      return null;
    }
    if (id == null) {
      return null;
    }
    if (!(id.isTextual() || id.isIntegralNumber())) {
      send(JsonRpc.error(null, JsonRpc.INVALID_REQUEST, "id must be a string or an integer"));
      return null;
    }
    metrics.request(method.asText());
    if (!rate.tryAcquire()) {
      send(JsonRpc.error(id, JsonRpc.OVERLOADED, "too many requests on this connection; retry later"));
      return null;
    }
    JsonNode params = message.get("params");
    if (params != null && !params.isObject() && !params.isNull()) {
      send(JsonRpc.error(id, JsonRpc.INVALID_PARAMS, "params must be an object"));
      return null;
    }
    return new Request(id, method.asText(), params == null || params.isNull() ? Json.object() : (ObjectNode) params);
  }

  /** The transport's rules were broken (a frame too large, a binary one): the client is told, the socket closes. */
  void refuse(String refusal, int closeCode) {
    send(JsonRpc.error(null, JsonRpc.INVALID_REQUEST, refusal));
    close(closeCode, refusal);
  }

  /** {@code initialize}: once, and before anything else. */
  void initialize() {
    if (initialized) {
      throw Failure.state("Already initialized");
    }
    initialized = true;
  }

  void requireInitialized() {
    if (!initialized) {
      throw Failure.state("Not initialized");
    }
  }

  boolean initialized() {
    return initialized;
  }

  // ---- Legato → client -----------------------------------------------------------------------------------

  /** Answers request {@code id} with {@code result}: a JSON tree, or a record of the Codex dialect. */
  void reply(JsonNode id, Object result) {
    send(JsonRpc.response(id, result));
  }

  /** Answers the request with the failure's code and message. */
  void refuse(JsonNode id, Failure failure) {
    send(JsonRpc.error(id, failure.code(), failure.getMessage()));
  }

  void send(JsonRpc.Message message) {
    if (closing) {
      return;
    }
    if (message instanceof JsonRpc.ErrorResponse refused) {
      metrics.error(refused.error().code());
    }
    if (!out.offer(Json.write(message))) {
      // Too slow to read what its threads produce: cut it loose before it costs memory. Threads go on.
      closing = true;
      metrics.slowClient();
      context.getLog().warn("disconnecting a client of tenant {} that does not keep up ({} messages or {}"
          + " characters queued)", identity.tenant(), settings.outboundQueue(), settings.outboundQueueCharacters());
      // a plain close: Pekko HTTP would log a failed stream as an error with its stack trace
      out.cutOff(Gateway.POLICY_VIOLATION, "not reading fast enough");
    }
  }

  /** Closes the socket once what is queued is sent; nothing more is sent. */
  void close(int code, String reason) {
    closing = true;
    out.close(code, reason);
  }

  /** Whether the socket is closing (closed by us, or the client was cut off): the connection may stop. */
  boolean closing() {
    return closing;
  }

  // ---- requests that wait --------------------------------------------------------------------------------

  /**
   * Once {@code stage} completes, {@code next} runs on the actor with its value; if it failed, or {@code next}
   * throws a {@link Failure}, request {@code id} is answered with the error.
   */
  <T> void await(JsonNode id, CompletionStage<T> stage, Consumer<T> next) {
    context.pipeToSelf(stage, (value, error) -> new Connection.Answered<>(id, value, error, next));
  }

  /** Answers request {@code id} with what {@code result} completes with, or with its error. */
  void answer(JsonNode id, CompletionStage<?> result) {
    await(id, result, value -> reply(id, value));
  }

  /** The step {@link #await} scheduled, on the actor. */
  void resume(Connection.Answered<?> answered) {
    resumeTyped(answered);
  }

  private <T> void resumeTyped(Connection.Answered<T> answered) {
    if (answered.error() != null) {
      refuse(answered.requestId(), failure(answered.error()));
      return;
    }
    try {
      answered.next().accept(answered.value());
    } catch (Failure failure) {
      refuse(answered.requestId(), failure);
    }
  }

  /**
   * Why an ask failed, as the client is told it: a request's own refusal keeps its code, a timeout is
   * {@link JsonRpc#TIMED_OUT}, and a thread's or registry's refusal is classed by {@link FailureKind}.
   */
  static Failure failure(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof Failure failure) {
      return failure;
    }
    if (cause instanceof TimeoutException) {
      return new Failure(JsonRpc.TIMED_OUT, "Legato did not answer in time; try again");
    }
    int code = switch (FailureKind.of(cause.getMessage())) {
      case PODIUM -> JsonRpc.PODIUM_UNAVAILABLE;
      case STORAGE -> JsonRpc.STORAGE_FAILED;
      case TIMEOUT -> JsonRpc.TIMED_OUT;
      case PARAMS -> JsonRpc.INVALID_PARAMS;
      case REQUEST -> JsonRpc.INVALID_REQUEST;
    };
    return new Failure(code, cause instanceof StatusReply.ErrorMessage ? cause.getMessage()
        : String.valueOf(cause.getMessage()));
  }

  /** A token bucket: {@code perSecond} sustained, {@code burst} at most saved up. */
  private static final class RequestRate {
    private final double perNano;
    private final double burst;
    private double tokens;
    private long last = System.nanoTime();

    RequestRate(double perSecond, int burst) {
      this.perNano = perSecond / 1e9;
      this.burst = burst;
      this.tokens = burst;
    }

    boolean tryAcquire() {
      long now = System.nanoTime();
      tokens = Math.min(burst, tokens + (now - last) * perNano);
      last = now;
      if (tokens < 1) {
        return false;
      }
      tokens -= 1;
      return true;
    }
  }
}
