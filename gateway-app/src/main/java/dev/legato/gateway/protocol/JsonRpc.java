package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * JSON-RPC 2.0 as Codex speaks it: one message per WebSocket text frame, no {@code "jsonrpc"} member (a
 * client may send it), request ids echoed with their JSON type.
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

  public static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private JsonRpc() {}

  public static ObjectNode object() {
    return NODES.objectNode();
  }

  /** Sets these members to null: the schema's required-but-nullable fields Legato has no value for. */
  public static ObjectNode nulls(ObjectNode node, String... fields) {
    for (String field : fields) {
      node.putNull(field);
    }
    return node;
  }

  public static ObjectNode response(JsonNode id, JsonNode result) {
    ObjectNode message = NODES.objectNode();
    message.set("id", id);
    message.set("result", result);
    return message;
  }

  public static ObjectNode error(JsonNode id, int code, String text) {
    ObjectNode message = NODES.objectNode();
    message.set("id", id == null ? NullNode.instance : id);
    message.putObject("error").put("code", code).put("message", text);
    return message;
  }

  public static ObjectNode notification(String method, JsonNode params) {
    ObjectNode message = NODES.objectNode();
    message.put("method", method);
    message.set("params", params);
    return message;
  }

  public static ObjectNode request(JsonNode id, String method, JsonNode params) {
    ObjectNode message = NODES.objectNode();
    message.set("id", id);
    message.put("method", method);
    message.set("params", params);
    return message;
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
