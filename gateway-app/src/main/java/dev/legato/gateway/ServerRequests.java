package dev.legato.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.LongNode;
import dev.legato.gateway.protocol.CodexThreads.PendingRequest;
import dev.legato.gateway.protocol.JsonRpc;
import dev.legato.gateway.protocol.Outbound;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The approvals and questions a connection has sent its client and still waits on, by the JSON-RPC id it
 * gave them: a thread's request goes out once however often it is offered, and its resolution goes out only
 * if the request did. Used by its {@link Connection} only, on the actor.
 */
final class ServerRequests {
  private final Map<Long, PendingRequest> pending = new HashMap<>();
  private long nextId = 1;

  /** The request to send, with a new JSON-RPC id; null when it was sent already and is still unanswered. */
  JsonRpc.Request send(UUID threadId, Outbound.ServerRequest request) {
    if (pending.values().stream().anyMatch(p -> p.requestId().equals(request.legatoRequestId()))) {
      return null; // offered again while we still wait for the client's answer
    }
    long id = nextId++;
    pending.put(id, new PendingRequest(threadId, request.legatoRequestId(), request.method()));
    return request.message(LongNode.valueOf(id));
  }

  /** {@code serverRequest/resolved} for the request, which is no longer pending; null when it was never sent. */
  JsonRpc.Notification resolve(Outbound.Resolved resolved) {
    Long id = pending.entrySet().stream()
        .filter(entry -> entry.getValue().requestId().equals(resolved.legatoRequestId()))
        .map(Map.Entry::getKey).findFirst().orElse(null);
    if (id == null) {
      return null;
    }
    pending.remove(id);
    return resolved.message(LongNode.valueOf(id));
  }

  /** The request the client's answer with this JSON-RPC id answers; null for one not pending. */
  PendingRequest answeredBy(JsonNode id) {
    return id.canConvertToLong() ? pending.get(id.asLong()) : null;
  }

  /** The pending request with this thread request id (or this JSON-RPC id, as text); null for none. */
  PendingRequest find(String requestId) {
    for (Map.Entry<Long, PendingRequest> entry : pending.entrySet()) {
      if (entry.getValue().requestId().equals(requestId) || entry.getKey().toString().equals(requestId)) {
        return entry.getValue();
      }
    }
    return null;
  }

  /** Forgets the thread's requests: the connection no longer follows it. */
  void forget(UUID threadId) {
    pending.values().removeIf(request -> request.threadId().equals(threadId));
  }
}
