package dev.legato.gateway;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.gateway.protocol.Json;
import dev.legato.registry.ThreadRegistry;
import dev.legato.thread.ThreadEntity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The cluster as an operator sees it from any node ({@code /admin/cluster}): its members with their status, roles
 * and reachability, the leader, and for threads and registries the shards and live entities each node holds; and
 * for one thread, which node holds it ({@code /admin/threads/{id}}: the node whose shard region has its shard).
 */
final class ClusterView {
  private final ActorSystem<?> system;
  private final Duration timeout;
  private final HashCodeMessageExtractor<Object> shards;

  ClusterView(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.timeout = timeout;
    // the extractor sharding uses when an entity names none: the thread's shard from its id
    this.shards = new HashCodeMessageExtractor<>(system.settings().config().getInt("pekko.cluster.sharding.number-of-shards"));
  }

  CompletionStage<ObjectNode> describe() {
    ClusterEvent.CurrentClusterState state = Cluster.get(system).state();
    ObjectNode result = Json.object();
    result.put("self", Cluster.get(system).selfMember().address().toString());
    result.put("leader", state.getLeader() == null ? null : state.getLeader().toString());
    ArrayNode members = result.putArray("members");
    for (Member member : state.getMembers()) {
      ObjectNode entry = members.addObject();
      entry.put("address", member.address().toString());
      entry.put("status", member.status().toString());
      entry.put("reachable", !state.getUnreachable().contains(member));
      ArrayNode roles = entry.putArray("roles");
      member.getRoles().stream().sorted().forEach(roles::add);
    }
    ArrayNode unreachable = result.putArray("unreachable");
    state.getUnreachable().forEach(member -> unreachable.add(member.address().toString()));
    CompletableFuture<ShardRegion.ClusterShardingStats> threads = stats(ThreadEntity.TYPE_KEY).toCompletableFuture();
    CompletableFuture<ShardRegion.ClusterShardingStats> registries = stats(ThreadRegistry.TYPE_KEY).toCompletableFuture();
    return CompletableFuture.allOf(threads, registries).handle((done, error) -> {
      ObjectNode sharding = result.putObject("sharding");
      perNode(sharding.putObject("threads"), threads);
      perNode(sharding.putObject("registries"), registries);
      return result;
    });
  }

  /** For a thread that exists: where it is (its shard and the node holding that shard, if one does now). */
  CompletionStage<Optional<ObjectNode>> withPlace(UUID threadId, Optional<ObjectNode> thread) {
    if (thread.isEmpty()) {
      return CompletableFuture.completedFuture(thread);
    }
    String shard = shards.shardId(threadId.toString());
    return stats(ThreadEntity.TYPE_KEY).handle((stats, error) -> {
      ObjectNode found = thread.get();
      found.put("shard", shard);
      String node = null;
      if (error == null) {
        for (Map.Entry<Address, ShardRegion.ShardRegionStats> region : stats.getRegions().entrySet()) {
          if (region.getValue().getStats().containsKey(shard)) {
            node = region.getKey().toString();
          }
        }
      }
      found.put("node", node);
      return thread;
    });
  }

  private CompletionStage<ShardRegion.ClusterShardingStats> stats(EntityTypeKey<?> type) {
    return AskPattern.ask(ClusterSharding.get(system).shardState(),
        replyTo -> new GetClusterShardingStats(type, timeout, replyTo), timeout.plusSeconds(1), system.scheduler());
  }

  /** Per node: its shards and the entities alive in them; a node that did not answer is listed under failed. */
  private static void perNode(ObjectNode into, CompletableFuture<ShardRegion.ClusterShardingStats> stats) {
    if (stats.isCompletedExceptionally()) {
      into.put("error", "the shard regions did not answer");
      return;
    }
    List<Map.Entry<Address, ShardRegion.ShardRegionStats>> regions = new ArrayList<>(stats.join().getRegions().entrySet());
    regions.sort(Map.Entry.comparingByKey(java.util.Comparator.comparing(Address::toString)));
    for (Map.Entry<Address, ShardRegion.ShardRegionStats> region : regions) {
      ObjectNode node = into.putObject(region.getKey().toString());
      node.put("shards", region.getValue().getStats().size());
      node.put("entities", region.getValue().getStats().values().stream().mapToInt(count -> ((Number) count).intValue()).sum());
      if (!region.getValue().getFailed().isEmpty()) {
        node.put("failedShards", region.getValue().getFailed().size());
      }
    }
  }
}
