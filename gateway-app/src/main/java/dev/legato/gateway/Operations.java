package dev.legato.gateway;

import dev.legato.registry.ThreadRestore;
import dev.legato.thread.ThreadCommand;
import dev.legato.thread.FailureKind;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.gateway.protocol.Json;
import dev.legato.thread.Podium;
import dev.legato.thread.ThreadEntity;
import dev.legato.thread.ThreadFiles;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
 * instance's status as Podium reports it. Never wakes nor creates a thread that does not exist.
 */
final class Operations {
  static final int DEFAULT_LIMIT = 1000;
  /** More would make one request ask that many threads at once. */
  static final int MAX_LIMIT = 10_000;

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
      List<CompletableFuture<ThreadCommand.ThreadDetails>> details = ids.stream().sorted().limit(limit)
          .map(id -> details(UUID.fromString(id)).toCompletableFuture()).toList();
      return CompletableFuture.allOf(details.toArray(CompletableFuture[]::new)).handle((done, error) -> {
        ObjectNode result = Json.object().put("node", system.address().toString()).put("live", ids.size());
        ArrayNode threads = result.putArray("threads");
        for (CompletableFuture<ThreadCommand.ThreadDetails> one : details) {
          if (!one.isCompletedExceptionally()) {
            threads.add(json(one.join()));
          }
        }
        return result;
      });
    });
  }

  /**
   * The {@code limit} of {@code /admin/threads} from its query: the only parameter it takes, once, an integer
   * from 1 to {@link #MAX_LIMIT}; anything else (a misspelt name too) is refused, so a typo never goes unseen.
   *
   * @throws IllegalArgumentException naming the parameter, for a 400
   */
  static int limit(List<Map.Entry<String, String>> query) {
    Integer limit = null;
    for (Map.Entry<String, String> parameter : query) {
      if (!parameter.getKey().equals("limit")) {
        throw new IllegalArgumentException("unknown query parameter '" + parameter.getKey()
            + "': /admin/threads takes only limit");
      }
      if (limit != null) {
        throw new IllegalArgumentException("query parameter 'limit' is given more than once");
      }
      String value = parameter.getValue().trim();
      String wrong = "query parameter 'limit' must be an integer from 1 to " + MAX_LIMIT + ", not '" + value + "'";
      try {
        limit = Integer.parseInt(value);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(wrong);
      }
      if (limit < 1 || limit > MAX_LIMIT) {
        throw new IllegalArgumentException(wrong);
      }
    }
    return limit == null ? DEFAULT_LIMIT : limit;
  }

  /** {@code /admin/threads/{id}} takes no query parameters. */
  static void noParameters(List<Map.Entry<String, String>> query) {
    if (!query.isEmpty()) {
      throw new IllegalArgumentException("unknown query parameter '" + query.get(0).getKey()
          + "': /admin/threads/{id} takes none");
    }
  }

  /**
   * The {@code at} of {@code /admin/threads/{id}/restore}: an ISO-8601 moment with its zone
   * ({@code 2026-12-05T10:15:30Z}, {@code 2026-12-05T11:15:30.250+01:00}); null when absent (the newest state).
   *
   * @throws IllegalArgumentException naming the parameter, for a 400
   */
  static Instant restoreAt(List<Map.Entry<String, String>> query) {
    Instant at = null;
    for (Map.Entry<String, String> parameter : query) {
      if (!parameter.getKey().equals("at")) {
        throw new IllegalArgumentException("unknown query parameter '" + parameter.getKey()
            + "': /admin/threads/{id}/restore takes only at");
      }
      if (at != null) {
        throw new IllegalArgumentException("query parameter 'at' is given more than once");
      }
      try {
        at = OffsetDateTime.parse(parameter.getValue().trim()).toInstant();
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("query parameter 'at' must be an ISO-8601 time with its zone, such as "
            + "2026-12-05T10:15:30Z, not '" + parameter.getValue() + "'");
      }
    }
    return at;
  }

  /** An HTTP answer: its status and its JSON body. */
  record Answer(StatusCode status, ObjectNode body) {}

  /**
   * Restores a thread from its replica (see {@link ThreadRestore}): 200 with what was restored and how the
   * thread is listed now; 404 when no replica holds it (at that moment); 409 when it cannot be now (a turn
   * running, replicas off); 500 when the restore failed (the thread is then as it was), 504 on a timeout.
   */
  CompletionStage<Answer> restore(UUID id, Instant at) {
    Duration restoreTimeout = timeout.compareTo(Duration.ofMinutes(2)) > 0 ? timeout : Duration.ofMinutes(2);
    return ThreadRestore.restore(system, id, at, restoreTimeout).handle((outcome, error) -> {
      if (error == null) {
        ObjectNode body = Json.object().put("threadId", id.toString())
            .put("at", at == null ? null : at.toString())
            .put("generation", outcome.restored().generation())
            .put("stateAt", outcome.restored().stateAt())
            .put("complete", outcome.restored().problem() == null)
            .put("problem", outcome.restored().problem())
            .put("tenant", outcome.tenant());
        if (outcome.listing() != null) {
          ObjectNode listed = body.putObject("listing");
          listed.put("name", outcome.listing().name().isEmpty() ? null : outcome.listing().name());
          listed.put("archived", outcome.listing().archived());
          listed.put("preview", outcome.listing().preview());
          listed.put("agentType", outcome.listing().agentType());
        }
        return new Answer(StatusCodes.OK, body);
      }
      Throwable cause = dev.legato.podium.PodiumClient.unwrap(error);
      StatusCode status;
      if (cause instanceof ThreadRestore.Refused refused) {
        status = refused.notFound() ? StatusCodes.NOT_FOUND : StatusCodes.CONFLICT;
      } else if (cause instanceof TimeoutException || cause instanceof org.apache.pekko.pattern.AskTimeoutException) {
        status = StatusCodes.GATEWAY_TIMEOUT;
      } else {
        status = switch (FailureKind.of(cause.getMessage())) {
          case REQUEST -> StatusCodes.CONFLICT;
          case PARAMS -> StatusCodes.BAD_REQUEST;
          case TIMEOUT -> StatusCodes.GATEWAY_TIMEOUT;
          case PODIUM -> StatusCodes.BAD_GATEWAY;
          case STORAGE -> StatusCodes.INTERNAL_SERVER_ERROR;
        };
      }
      return new Answer(status, Json.object().put("threadId", id.toString()).put("error", String.valueOf(cause.getMessage())));
    });
  }

  /** A thread id in its canonical form (as Legato hands them out), or a 400. */
  static UUID threadId(String text) {
    try {
      UUID id = UUID.fromString(text);
      if (id.toString().equals(text)) {
        return id;
      }
    } catch (IllegalArgumentException e) {
      // said below
    }
    throw new IllegalArgumentException("not a thread id: " + text);
  }

  /**
   * One thread (brought to life if it was passivated), with its instance's status from Podium; empty when
   * no such thread exists, found without waking an entity for it: its files are on this node, or (a thread that
   * lives or lived on another node of the cluster) its replica holds it.
   */
  CompletionStage<Optional<ObjectNode>> thread(UUID id) {
    return ThreadFiles.exist(system, id).thenCompose(local -> local ? CompletableFuture.completedFuture(true)
            : dev.legato.storage.SessionStorage.get(system).replicaOf(id, null).thenApply(Optional::isPresent))
        .thenCompose(exists -> exists
        ? details(id).thenApply(Optional::of)
        : CompletableFuture.completedFuture(Optional.<ThreadCommand.ThreadDetails>empty()))
        .thenCompose(found -> found.isEmpty()
            ? CompletableFuture.completedFuture(Optional.<ObjectNode>empty())
            : withInstance(found.get()).thenApply(Optional::of));
  }

  private CompletionStage<ObjectNode> withInstance(ThreadCommand.ThreadDetails details) {
    ObjectNode result = json(details);
    replicas(result, details.threadId());
    String instanceId = details.status().instanceId();
    if (instanceId == null) {
      return CompletableFuture.completedFuture(result);
    }
    return Podium.get(system).client().instance(instanceId).handle((instance, error) -> {
      result.put("instanceStatus", error == null ? instance.status().toString()
          : "unknown (" + error.getMessage() + ")");
      return result;
    });
  }

  /**
   * Each of the thread's files' replica as this node last shipped it: generation, WAL index and offset,
   * when, what waits and the lag (a file this node has not written since it started has no entry).
   */
  private void replicas(ObjectNode result, UUID threadId) {
    dev.legato.storage.SessionStorage.get(system).replication().ifPresent(replication -> {
      ObjectNode files = result.putObject("replicas");
      files.put("target", replication.target().describe());
      for (String file : List.of("session.db", "memory.db")) {
        replication.status("sessions/" + threadId + "/" + file).ifPresent(status -> {
          ObjectNode node = files.putObject(file);
          node.put("generation", status.generation());
          node.put("index", status.index());
          node.put("offset", status.offset());
          node.put("shippedAt", status.shippedAt() == null ? null : status.shippedAt().toString());
          node.put("pendingObjects", status.pendingObjects());
          node.put("pendingBytes", status.pendingBytes());
          node.put("lagMillis", status.lagMillis());
        });
      }
    });
  }

  private CompletionStage<ThreadCommand.ThreadDetails> details(UUID id) {
    return ClusterSharding.get(system).entityRefFor(ThreadEntity.TYPE_KEY, id.toString())
        .ask(ThreadCommand.GetDetails::new, timeout);
  }

  private static ObjectNode json(ThreadCommand.ThreadDetails details) {
    ObjectNode thread = Json.object();
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
