package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What {@link LiveRenderer} asks a connection to send. Notifications are ready to go; a server request and
 * its resolution need the JSON-RPC id, which only the connection assigns and remembers.
 */
public sealed interface Outbound {

  /** A whole notification, ready for the wire. */
  record Notification(JsonRpc.Notification message) implements Outbound {}

  /**
   * A request to the client (an approval or a question). The connection gives it a JSON-RPC id, sends
   * {@link #message(JsonNode)}, and routes the client's answer to the thread by {@code legatoRequestId}.
   */
  record ServerRequest(String legatoRequestId, String threadId, String method, Object params) implements Outbound {
    public JsonRpc.Request message(JsonNode id) {
      return new JsonRpc.Request(id, method, params);
    }
  }

  /**
   * The request {@code legatoRequestId} was answered (by this client or another): the connection sends
   * {@link #message(JsonNode)} with the JSON-RPC id it gave that request, and nothing if it never sent it.
   */
  record Resolved(String legatoRequestId, String threadId) implements Outbound {
    public JsonRpc.Notification message(JsonNode id) {
      return CodexNotifications.requestResolved(threadId, id);
    }
  }
}
