package dev.legato.gateway;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.gateway.protocol.JsonRpc;
import dev.legato.thread.Podium;
import dev.legato.thread.ThreadEntity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * What operators see of this node's threads ({@code /admin/threads}): every live thread's phase, turn,
 * instance and link, subscribers, last sequence number and last error; one thread adds its Podium
 * instance's status as Podium reports it.
 */
final class Operations {
  private final ActorSystem<?> system;
  private final Duration timeout;

  Operations(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.timeout = timeout;
  }

  /** The threads alive on this node, at most {@code limit}. */
  CompletionStage<ObjectNode> threads(int limit) {
    CompletionStage<ShardRegion.CurrentShardRegionState> state = AskPattern.ask(
        ClusterSharding.get(system).shardState(),
        replyTo -> new GetShardRegionState(ThreadEntity.TYPE_KEY, replyTo), timeout, system.scheduler());
    return state.thenCompose(region -> {
      List<String> ids = new ArrayList<>();
      region.getShards().forEach(shard -> ids.addAll(shard.getEntityIds()));
      List<CompletableFuture<ThreadEntity.ThreadDetails>> details = ids.stream().sorted().limit(limit)
          .map(id -> details(UUID.fromString(id)).toCompletableFuture()).toList();
      return CompletableFuture.allOf(details.toArray(CompletableFuture[]::new)).handle((done, error) -> {
        ObjectNode result = JsonRpc.object().put("node", system.address().toString()).put("live", ids.size());
        ArrayNode threads = result.putArray("threads");
        for (CompletableFuture<ThreadEntity.ThreadDetails> one : details) {
          if (!one.isCompletedExceptionally()) {
            threads.add(json(one.join()));
          }
        }
        return result;
      });
    });
  }

  /** One thread (brought to life if it was passivated), with its instance's status from Podium. */
  CompletionStage<ObjectNode> thread(UUID id) {
    return details(id).thenCompose(details -> {
      ObjectNode result = json(details);
      String instanceId = details.status().instanceId();
      if (instanceId == null) {
        return CompletableFuture.completedFuture(result);
      }
      return Podium.get(system).client().instance(instanceId).handle((instance, error) -> {
        result.put("instanceStatus", error == null ? instance.status().toString()
            : "unknown (" + error.getMessage() + ")");
        return result;
      });
    });
  }

  private CompletionStage<ThreadEntity.ThreadDetails> details(UUID id) {
    return ClusterSharding.get(system).entityRefFor(ThreadEntity.TYPE_KEY, id.toString())
        .ask(ThreadEntity.GetDetails::new, timeout);
  }

  private static ObjectNode json(ThreadEntity.ThreadDetails details) {
    ObjectNode thread = JsonRpc.object();
    thread.put("threadId", details.threadId().toString());
    if (details.status().phase().equals("new")) {
      // Not a thread yet, so nothing else to say: a spare the registry prepared for its next start (or,
      // for a moment, a thread being created, or one whose creation failed).
      thread.put("state", "spare");
      if (details.lastError() != null) {
        thread.put("lastError", details.lastError());
      }
      return thread;
    }
    thread.put("state", details.archived() ? "archived" : "active");
    thread.put("turnState", details.status().phase());
    thread.put("turnId", details.status().turnId());
    thread.put("pendingRequestId", details.status().pendingRequestId());
    thread.put("agentType", details.agentType());
    thread.put("tenant", details.tenant());
    thread.put("instanceId", details.status().instanceId());
    thread.put("link", details.status().link());
    thread.put("subscribers", details.subscribers());
    thread.put("lastSequenceNr", details.lastSequenceNr());
    thread.put("lastError", details.lastError());
    return thread;
  }
}
