package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What {@link LiveRenderer} asks a connection to send. Notifications are ready to go; a server request and
 * its resolution need the JSON-RPC id, which only the connection assigns and remembers.
 */
public sealed interface Outbound {

  /** A whole notification {@code {method, params}}, ready for the wire. */
  record Notification(ObjectNode message) implements Outbound {
    public String method() {
      return message.path("method").asText();
    }
  }

  /**
   * A request to the client (an approval or a question). The connection gives it a JSON-RPC id, sends
   * {@link #message(JsonNode)}, and routes the client's answer to the thread by {@code legatoRequestId}.
   */
  record ServerRequest(String legatoRequestId, String threadId, String method, ObjectNode params) implements Outbound {
    public ObjectNode message(JsonNode id) {
      return CodexDialect.serverRequest(id, method, params.deepCopy());
    }
  }

  /**
   * The request {@code legatoRequestId} was answered (by this client or another): the connection sends
   * {@link CodexDialect#serverRequestResolved} with the JSON-RPC id it gave that request, and nothing if it
   * never sent it.
   */
  record Resolved(String legatoRequestId, String threadId) implements Outbound {
    public ObjectNode message(JsonNode id) {
      return CodexDialect.serverRequestResolved(threadId, id);
    }
  }
}
