package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * JSON-RPC 2.0 as Codex speaks it: one message per WebSocket text frame, no {@code "jsonrpc"} member (a
 * client may send it), request ids echoed with their JSON type. The messages are records, written by
 * {@link Json} with their members in the order shown.
 */
public final class JsonRpc {
  public static final int PARSE_ERROR = -32700;
  public static final int INVALID_REQUEST = -32600;
  public static final int METHOD_NOT_FOUND = -32601;
  public static final int INVALID_PARAMS = -32602;
  public static final int INTERNAL_ERROR = -32603;
  // Server errors (-32000 to -32099): the request was fine, the failure is Legato's or Podium's, and the
  // same request may succeed later. Nothing was changed.
  /** Podium or the agent could not do it: unavailable, refused, or the agent is gone. */
  public static final int PODIUM_UNAVAILABLE = -32000;
  /** Codex's "overloaded, retry later": this connection sends faster than its rate. */
  public static final int OVERLOADED = -32001;
  /** The thread's storage failed (e.g. the disk is full); nothing was recorded. */
  public static final int STORAGE_FAILED = -32002;
  /** Part of Legato did not answer in time. */
  public static final int TIMED_OUT = -32003;

  private JsonRpc() {}

  /** A message Legato sends. */
  public sealed interface Message {}

  /** The answer to request {@code id}: its {@code result}, a JSON tree or a record. */
  public record Response(JsonNode id, Object result) implements Message {}

  /** A refused request: {@code id} null when the request had none Legato could read. */
  public record ErrorResponse(JsonNode id, ErrorObject error) implements Message {}

  public record ErrorObject(int code, String message) {}

  public record Notification(String method, Object params) implements Message {}

  /** A request to the client; the id is the connection's own. */
  public record Request(JsonNode id, String method, Object params) implements Message {}

  public static Response response(JsonNode id, Object result) {
    return new Response(id, result);
  }

  public static ErrorResponse error(JsonNode id, int code, String message) {
    return new ErrorResponse(id, new ErrorObject(code, message));
  }

  /** A request that fails with this code and message; nothing it asked for happened. */
  public static final class Failure extends RuntimeException {
    private final int code;

    public Failure(int code, String message) {
      super(message, null, false, false);
      this.code = code;
    }

    public static Failure params(String message) {
      return new Failure(INVALID_PARAMS, message);
    }

    public static Failure state(String message) {
      return new Failure(INVALID_REQUEST, message);
    }

    public int code() {
      return code;
    }
  }
}
