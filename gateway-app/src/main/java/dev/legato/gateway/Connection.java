package dev.legato.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.legato.thread.ThreadUpdate;
import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadCommand;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.gateway.auth.Identity;
import dev.legato.gateway.protocol.Bootstrap;
import dev.legato.gateway.protocol.CodexDialect;
import dev.legato.gateway.protocol.CodexThreads;
import dev.legato.gateway.protocol.JsonRpc;
import dev.legato.gateway.protocol.JsonRpc.Failure;
import dev.legato.gateway.protocol.Outbound;
import dev.legato.podium.AgentCommand;
import dev.legato.registry.ThreadQuery;
import dev.legato.registry.ThreadRegistry;
import dev.legato.registry.ThreadSummary;
import dev.legato.thread.FailureKind;
import dev.legato.thread.ThreadEntity;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * One client WebSocket: reads its JSON-RPC requests, answers them through the tenant's registry and
 * threads, subscribes to the threads it starts or resumes and renders their updates as Codex
 * notifications and server requests. Bad input gets a JSON-RPC error and changes nothing; a client that
 * reads too slowly for its bounded outbound queue is disconnected, and its threads go on.
 */
public final class Connection extends AbstractBehavior<Connection.Command> {

  public sealed interface Command {}

  /**
   * A text message from the client, or why its message is refused (too large, binary): then the client is
   * told and disconnected with {@code closeCode}. {@code ack} once it is taken in (the socket reads on).
   */
  public record Inbound(String text, String refusal, int closeCode, ActorRef<Done> ack) implements Command {}

  /** The socket is gone. */
  public record Closed() implements Command {}

  private record FromThread(UUID threadId, ThreadUpdate update) implements Command {}

  private record ThreadLost(UUID threadId, ActorRef<ThreadUpdate> follower, long cursor) implements Command {}

  /** Work that finished elsewhere, continued on the actor. */
  private record Continue(Runnable action) implements Command {}

  /** {@code legato.gateway.handshake-timeout} has passed since the socket opened. */
  private record HandshakeTimedOut() implements Command {}

  public static Behavior<Command> create(Identity identity, GatewaySettings settings, GatewayMetrics metrics,
                                         String version, String codexHome, Outbox out) {
    return Behaviors.setup(context -> new Connection(context, identity, settings, metrics, version, codexHome, out));
  }

  private final Identity identity;
  private final GatewaySettings settings;
  private final GatewayMetrics metrics;
  private final String version;
  private final String codexHome;
  private final Outbox out;
  private final ClusterSharding sharding;
  private final EntityRef<ThreadRegistry.Command> registry;
  private final RequestRate rate;
  private boolean initialized;
  private final org.apache.pekko.actor.Cancellable handshakeTimer;
  private boolean closing;
  /** Threads this connection watches, with what it needs to render their updates. */
  private final Map<UUID, CodexThreads.Subscription> subscriptions = new HashMap<>();
  private final Map<UUID, ActorRef<ThreadUpdate>> subscribers = new HashMap<>();
  /** Server requests awaiting the client's answer, by JSON-RPC id. */
  private final Map<Long, CodexThreads.PendingRequest> pending = new HashMap<>();
  private long nextRequestId = 1;

  private Connection(ActorContext<Command> context, Identity identity, GatewaySettings settings,
                     GatewayMetrics metrics, String version, String codexHome, Outbox out) {
    super(context);
    this.identity = identity;
    this.settings = settings;
    this.metrics = metrics;
    metrics.connectionOpened();
    this.version = version;
    this.codexHome = codexHome;
    this.out = out;
    this.sharding = ClusterSharding.get(context.getSystem());
    this.registry = sharding.entityRefFor(ThreadRegistry.TYPE_KEY, identity.tenant());
    this.rate = new RequestRate(settings.requestsPerSecond(), settings.requestBurst());
    this.handshakeTimer = context.scheduleOnce(settings.handshakeTimeout(), context.getSelf(), new HandshakeTimedOut());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Inbound.class, this::inbound)
        .onMessage(FromThread.class, this::fromThread)
        .onMessage(ThreadLost.class, this::threadLost)
        .onMessage(Continue.class, c -> {
          c.action().run();
          return closing ? Behaviors.stopped() : this;
        })
        .onMessage(HandshakeTimedOut.class, t -> {
          if (initialized) {
            return this;
          }
          // A socket that never says who it is holds a place for nothing: let it go.
          closing = true;
          out.close(Gateway.POLICY_VIOLATION, "no initialize within " + settings.handshakeTimeout().toSeconds() + " s");
          return Behaviors.stopped();
        })
        .onMessage(Closed.class, c -> Behaviors.stopped())
        .onSignal(PostStop.class, stop -> {
          handshakeTimer.cancel();
          metrics.connectionClosed();
          return this;
        })
        .build();
  }

  // ---- client → Legato -----------------------------------------------------------------------------------

  private Behavior<Command> inbound(Inbound inbound) {
    inbound.ack().tell(Done.getInstance());
    if (inbound.refusal() != null) {
      send(JsonRpc.error(null, JsonRpc.INVALID_REQUEST, inbound.refusal()));
      closing = true;
      // the transport's rules were broken: the socket closes, the threads go on
      out.close(inbound.closeCode(), inbound.refusal());
      return Behaviors.stopped();
    }
    JsonNode message;
    try {
      message = JsonRpc.JSON.readTree(inbound.text());
    } catch (JsonProcessingException e) {
      send(JsonRpc.error(null, JsonRpc.PARSE_ERROR, "not JSON: " + e.getOriginalMessage()));
      return this;
    }
    if (message == null || !message.isObject()) {
      send(JsonRpc.error(null, JsonRpc.INVALID_REQUEST, "a JSON-RPC message is a JSON object"));
      return this;
    }
    JsonNode id = message.get("id");
    JsonNode method = message.get("method");
    if (method == null) {
      if (id != null && (message.has("result") || message.has("error"))) {
        clientAnswered(id, message);
      } else {
        send(JsonRpc.error(id, JsonRpc.INVALID_REQUEST, "a request needs a method"));
      }
      return this;
    }
    if (!method.isTextual()) {
      send(JsonRpc.error(id, JsonRpc.INVALID_REQUEST, "method must be a string"));
      return this;
    }
    if (id == null) {
      return this; // a notification ("initialized"): nothing to answer
    }
    if (!(id.isTextual() || id.isIntegralNumber())) {
      send(JsonRpc.error(null, JsonRpc.INVALID_REQUEST, "id must be a string or an integer"));
      return this;
    }
    metrics.request(method.asText());
    if (!rate.tryAcquire()) {
      send(JsonRpc.error(id, JsonRpc.OVERLOADED, "too many requests on this connection; retry later"));
      return this;
    }
    JsonNode params = message.get("params");
    if (params != null && !params.isObject() && !params.isNull()) {
      send(JsonRpc.error(id, JsonRpc.INVALID_PARAMS, "params must be an object"));
      return this;
    }
    ObjectNode p = params == null || params.isNull() ? JsonRpc.object() : (ObjectNode) params;
    try {
      request(id, method.asText(), p);
    } catch (Failure failure) {
      send(JsonRpc.error(id, failure.code(), failure.getMessage()));
    }
    return this;
  }

  private void request(JsonNode id, String method, ObjectNode params) {
    if (method.equals("initialize")) {
      if (initialized) {
        throw Failure.state("Already initialized");
      }
      initialized = true;
      reply(id, Bootstrap.initialize(version, codexHome));
      return;
    }
    if (!initialized) {
      throw Failure.state("Not initialized");
    }
    switch (method) {
      case "account/read" -> reply(id, Bootstrap.account());
      case "config/read" -> reply(id, Bootstrap.config(settings.defaultAgentType(), text(params, "cwd")));
      case "configRequirements/read" -> reply(id, Bootstrap.configRequirements());
      case "model/list" -> reply(id, Bootstrap.models(settings.agentTypes(), settings.defaultAgentType()));
      case "collaborationMode/list", "hooks/list", "skills/list" -> reply(id, Bootstrap.emptyData());
      case "experimentalFeature/list", "thread/backgroundTerminals/list" -> reply(id, Bootstrap.emptyPage());
      case "plugin/installed" -> reply(id, Bootstrap.pluginsInstalled());
      case "account/bedrock/checkGovCloudRequirements" -> reply(id, Bootstrap.govCloudRequirements());
      case "account/rateLimits/read" -> reply(id, Bootstrap.rateLimits());
      case "thread/goal/get" -> reply(id, Bootstrap.noGoal());
      case "config/batchWrite", "config/value/write" -> reply(id, Bootstrap.configWritten(codexHome + "/config.toml"));
      case "thread/loaded/list" -> {
        ObjectNode result = Bootstrap.emptyPage();
        subscriptions.keySet().forEach(thread -> result.withArray("data").add(thread.toString()));
        reply(id, result);
      }
      case "thread/start" -> threadStart(id, params);
      case "thread/resume" -> threadResume(id, params);
      case "thread/read" -> threadRead(id, params);
      case "thread/fork" -> threadFork(id, params);
      case "thread/list" -> threadList(id, params);
      case "thread/turns/list" -> threadTurnsList(id, params);
      case "thread/archive" -> threadArchive(id, params, true);
      case "thread/unarchive" -> threadArchive(id, params, false);
      case "thread/delete" -> threadDelete(id, params);
      case "thread/name/set" -> threadRename(id, params);
      case "thread/unsubscribe" -> threadUnsubscribe(id, params);
      case "turn/start" -> turnStart(id, params);
      case "turn/steer" -> turnSteer(id, params);
      case "turn/interrupt" -> turnInterrupt(id, params);
      case "item/approve" -> itemApprove(id, params);
      case "item/answer" -> itemAnswer(id, params);
      default -> throw new Failure(JsonRpc.METHOD_NOT_FOUND, "Legato does not serve " + method);
    }
  }

  // ---- threads -------------------------------------------------------------------------------------------

  private void threadStart(JsonNode id, ObjectNode params) {
    String agentType = firstText(params, "agentType", "model");
    if (agentType == null) {
      agentType = settings.defaultAgentType();
    } else if (!settings.agentTypes().contains(agentType)) {
      throw Failure.params("unknown agent type (model) '" + agentType + "'; available: " + settings.agentTypes());
    }
    String cwd = text(params, "cwd");
    String name = text(params, "name");
    String chosen = agentType;
    await(id, registry.<ThreadSummary>askWithStatus(
            reply -> new ThreadRegistry.StartThread(chosen, name, cwd, reply), settings.askTimeout()),
        summary -> {
          CodexThreads.Subscription subscription = CodexThreads.started(summary);
          reply(id, subscription.startResponse());
          send(subscription.startedNotification());
          subscribe(summary.threadId(), subscription, null);
        });
  }

  private void threadResume(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    owned(id, threadId, summary -> await(id, thread(threadId).<ThreadCommand.Resumed>askWithStatus(
        ThreadCommand.Resume::new, settings.askTimeout()), resumed -> {
          unsubscribe(threadId);
          CodexThreads.Subscription subscription = CodexThreads.resumed(summary, resumed);
          reply(id, subscription.resumeResponse(withTurns(params)));
          subscribe(threadId, subscription, resumed.lastSequenceNr());
        }));
  }

  /**
   * A new thread whose journal starts with the source's ended turns (and memories), through
   * {@code lastTurnId} when given; its agent is told that conversation with the first turn. The client
   * follows the fork.
   */
  private void threadFork(JsonNode id, ObjectNode params) {
    UUID sourceId = threadId(params);
    String lastTurnId = text(params, "lastTurnId");
    boolean withTurns = withTurns(params);
    owned(id, sourceId, source -> await(id, thread(sourceId).<ThreadCommand.Resumed>askWithStatus(
        ThreadCommand.Read::new, settings.askTimeout()), read -> {
          List<ThreadEvent> history = CodexThreads.forkedHistory(
              read.history().stream().map(ThreadUpdate.Persisted::event).toList(), lastTurnId);
          String name = source.name() == null || source.name().isBlank() ? null : "fork of " + source.name();
          await(id, registry.<ThreadSummary>askWithStatus(reply -> new ThreadRegistry.StartThread(source.agentType(),
              name, source.cwd(), history, reply), settings.askTimeout()), fork -> await(id,
              thread(fork.threadId()).<ThreadCommand.Resumed>askWithStatus(ThreadCommand.Read::new, settings.askTimeout()),
              forked -> {
                CodexThreads.Subscription subscription = CodexThreads.forked(fork, forked, sourceId);
                reply(id, subscription.resumeResponse(withTurns));
                send(subscription.startedNotification());
                subscribe(fork.threadId(), subscription, forked.lastSequenceNr());
              }));
        }));
  }

  private void threadRead(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    boolean includeTurns = params.path("includeTurns").asBoolean(false);
    owned(id, threadId, summary -> await(id, thread(threadId).<ThreadCommand.Resumed>askWithStatus(
        ThreadCommand.Read::new, settings.askTimeout()), read ->
        reply(id, CodexThreads.readResponse(summary, read, includeTurns))));
  }

  private void threadTurnsList(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    owned(id, threadId, summary -> await(id, thread(threadId).<ThreadCommand.Resumed>askWithStatus(
        ThreadCommand.Read::new, settings.askTimeout()), read ->
        reply(id, CodexThreads.turnsListResponse(summary, read, params))));
  }

  private void threadList(JsonNode id, ObjectNode params) {
    ThreadQuery.Archived archived = params.path("archived").asBoolean(false)
        ? ThreadQuery.Archived.ARCHIVED : ThreadQuery.Archived.ACTIVE;
    ThreadQuery.SortBy sortBy = "updated_at".equals(text(params, "sortKey")) || "updatedAt".equals(text(params, "sortKey"))
        ? ThreadQuery.SortBy.UPDATED : ThreadQuery.SortBy.CREATED;
    int limit = params.path("limit").asInt(0);
    if (limit < 0) {
      throw Failure.params("limit must not be negative");
    }
    ThreadQuery query = new ThreadQuery(archived, firstText(params, "searchTerm", "search"), sortBy,
        text(params, "cursor"), limit);
    await(id, registry.<ThreadRegistry.ThreadPage>askWithStatus(reply -> new ThreadRegistry.ListThreads(query, reply),
        settings.askTimeout()), page -> reply(id, CodexThreads.listResponse(page)));
  }

  private void threadArchive(JsonNode id, ObjectNode params, boolean archive) {
    UUID threadId = threadId(params);
    owned(id, threadId, summary -> await(id, registry.<ThreadSummary>askWithStatus(
        reply -> new ThreadRegistry.ArchiveThread(threadId, archive, reply), settings.askTimeout()), after -> {
          reply(id, archive ? JsonRpc.object() : CodexThreads.unarchiveResponse(after));
          if (!subscriptions.containsKey(threadId)) { // subscribers hear it from the thread itself
            send(JsonRpc.notification(archive ? "thread/archived" : "thread/unarchived",
                JsonRpc.object().put("threadId", threadId.toString())));
          }
        }));
  }

  private void threadDelete(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    owned(id, threadId, summary -> await(id, registry.<Done>askWithStatus(
        reply -> new ThreadRegistry.DeleteThread(threadId, reply), settings.askTimeout()), done -> {
          unsubscribe(threadId);
          reply(id, JsonRpc.object());
          send(JsonRpc.notification("thread/deleted", JsonRpc.object().put("threadId", threadId.toString())));
        }));
  }

  private void threadRename(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    String name = text(params, "name");
    if (name == null) {
      throw Failure.params("thread/name/set needs a name");
    }
    owned(id, threadId, summary -> await(id, registry.<ThreadSummary>askWithStatus(
        reply -> new ThreadRegistry.Rename(threadId, name, reply), settings.askTimeout()), renamed -> {
          reply(id, JsonRpc.object());
          thread(threadId).tell(new ThreadCommand.AnnounceName(renamed.name())); // to every client following it
          if (!subscriptions.containsKey(threadId)) { // those hear it from the thread, this one now
            send(CodexDialect.nameUpdated(threadId.toString(), renamed.name()));
          }
        }));
  }

  private void threadUnsubscribe(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    boolean was = unsubscribe(threadId);
    reply(id, JsonRpc.object().put("status", was ? "unsubscribed" : "notSubscribed"));
  }

  // ---- turns ---------------------------------------------------------------------------------------------

  private void turnStart(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    String text = CodexThreads.inputText(params);
    if (text == null || text.isBlank()) {
      throw Failure.params("turn/start needs text: input [{type:\"text\", text}] (or text)");
    }
    owned(id, threadId, summary -> {
      if (!subscriptions.containsKey(threadId)) {
        subscribe(threadId, CodexThreads.started(summary), null); // the client sees the turn it starts
      }
      await(id, thread(threadId).<ThreadCommand.TurnAccepted>askWithStatus(
          reply -> new ThreadCommand.StartTurn(text, reply), settings.askTimeout()),
          accepted -> reply(id, CodexThreads.turnStartResponse(accepted.turnId())));
    });
  }

  private void turnSteer(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    String text = CodexThreads.inputText(params);
    if (text == null || text.isBlank()) {
      throw Failure.params("turn/steer needs text: input [{type:\"text\", text}] (or content)");
    }
    owned(id, threadId, summary -> await(id, thread(threadId).<ThreadCommand.ThreadStatus>ask(
        ThreadCommand.GetStatus::new, settings.askTimeout()), status -> {
          if (status.turnId() == null) {
            send(JsonRpc.error(id, JsonRpc.INVALID_REQUEST, "no turn is running"));
            return;
          }
          await(id, thread(threadId).<Done>askWithStatus(reply -> new ThreadCommand.Steer(text, reply),
              settings.askTimeout()), done -> reply(id, JsonRpc.object().put("turnId", status.turnId())));
        }));
  }

  private void turnInterrupt(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    owned(id, threadId, summary -> await(id, thread(threadId).<Done>askWithStatus(
        ThreadCommand.Interrupt::new, settings.askTimeout()), done -> reply(id, JsonRpc.object())));
  }

  // ---- approvals and questions ---------------------------------------------------------------------------

  /** The client's JSON-RPC answer to one of our server requests. */
  private void clientAnswered(JsonNode id, JsonNode message) {
    CodexThreads.PendingRequest request = id.canConvertToLong() ? pending.get(id.asLong()) : null;
    if (request == null) {
      return; // an answer to nothing we asked, or already answered elsewhere: the first answer won
    }
    if (message.has("error")) {
      decide(request, AgentCommand.Decision.CANCEL, null, true, null); // an error answer cancels or dismisses
      return;
    }
    try {
      JsonNode result = message.path("result");
      if (request.isQuestion()) {
        decide(request, null, CodexThreads.answers(result), false, null);
      } else {
        decide(request, CodexThreads.decision(result), null, false, null);
      }
    } catch (Failure failure) {
      getContext().getLog().debug("unusable answer to {}: {}", request, failure.getMessage());
    }
  }

  private void itemApprove(JsonNode id, ObjectNode params) {
    CodexThreads.PendingRequest request = findPending(params);
    boolean approved = params.path("approved").asBoolean(false);
    String decision = text(params, "decision");
    AgentCommand.Decision chosen = decision != null ? CodexThreads.decision(JsonRpc.object().put("decision", decision))
        : approved ? AgentCommand.Decision.ACCEPT : AgentCommand.Decision.DECLINE;
    decide(request, chosen, null, false, id);
  }

  private void itemAnswer(JsonNode id, ObjectNode params) {
    CodexThreads.PendingRequest request = findPending(params);
    if (!request.isQuestion()) {
      throw Failure.state("request " + request.requestId() + " is an approval; answer it with item/approve");
    }
    decide(request, null, CodexThreads.answers(params), params.path("dismissed").asBoolean(false), id);
  }

  private CodexThreads.PendingRequest findPending(ObjectNode params) {
    String requestId = text(params, "requestId");
    if (requestId == null) {
      throw Failure.params("requestId is required");
    }
    for (Map.Entry<Long, CodexThreads.PendingRequest> entry : pending.entrySet()) {
      if (entry.getValue().requestId().equals(requestId) || entry.getKey().toString().equals(requestId)) {
        return entry.getValue();
      }
    }
    throw Failure.state("no request " + requestId + " is pending on this connection's threads");
  }

  /** Answers the thread; {@code replyId} when the answer came as a request (seed forms) that wants a reply. */
  private void decide(CodexThreads.PendingRequest request, AgentCommand.Decision decision,
                      Map<String, List<String>> answers, boolean dismissed, JsonNode replyId) {
    EntityRef<ThreadCommand> thread = thread(request.threadId());
    CompletionStage<Done> answered = request.isQuestion()
        ? thread.askWithStatus(reply -> new ThreadCommand.AnswerQuestion(request.requestId(), answers, dismissed, reply),
            settings.askTimeout())
        : thread.askWithStatus(reply -> new ThreadCommand.AnswerApproval(request.requestId(), decision, reply),
            settings.askTimeout());
    if (replyId != null) {
      await(replyId, answered, done -> reply(replyId, JsonRpc.object()));
    } else {
      answered.whenComplete((done, error) -> {
        if (error != null) {
          getContext().getLog().debug("answer to {} refused: {}", request, error.getMessage());
        }
      });
    }
  }

  // ---- Legato → client -----------------------------------------------------------------------------------

  private void subscribe(UUID threadId, CodexThreads.Subscription subscription, Long afterSequenceNr) {
    subscriptions.put(threadId, subscription);
    ActorRef<Command> self = getContext().getSelf();
    ActorRef<ThreadUpdate> subscriber = getContext().spawnAnonymous(follower(threadId, self));
    subscribers.put(threadId, subscriber);
    thread(threadId).<Done>askWithStatus(reply -> new ThreadCommand.Subscribe(subscriber, afterSequenceNr, reply),
            settings.askTimeout())
        .whenComplete((done, error) -> {
          if (error != null) {
            self.tell(new Continue(() -> {
              send(CodexThreads.warning(threadId, "could not follow thread " + threadId + ": " + error.getMessage()));
              unsubscribe(threadId);
            }));
          }
        });
  }

  /**
   * Hands a thread's updates to the connection, and notes the last sequence number seen. If the thread's
   * entity stops while followed (a failed write stopped it, its node left), the connection hears it with that
   * cursor and follows the thread anew: it gets what it missed, then live updates, exactly once.
   */
  private static Behavior<ThreadUpdate> follower(UUID threadId, ActorRef<Command> connection) {
    return Behaviors.setup(context -> {
      long[] cursor = {0};
      return Behaviors.receive(ThreadUpdate.class)
          .onMessage(ThreadUpdate.class, update -> {
            if (update instanceof ThreadUpdate.Live live) {
              cursor[0] = Math.max(cursor[0], live.afterSequenceNr());
              if (live.thread() != null) {
                context.watch(live.thread());
              }
            } else if (update instanceof ThreadUpdate.Persisted persisted) {
              cursor[0] = Math.max(cursor[0], persisted.sequenceNr());
            }
            connection.tell(new FromThread(threadId, update));
            return Behaviors.same();
          })
          .onSignal(Terminated.class, gone -> {
            connection.tell(new ThreadLost(threadId, context.getSelf(), cursor[0]));
            return Behaviors.stopped();
          })
          .build();
    });
  }

  /** The followed thread's entity stopped: follow it again from the cursor, if it still exists. */
  private Behavior<Command> threadLost(ThreadLost lost) {
    CodexThreads.Subscription subscription = subscriptions.get(lost.threadId());
    if (subscription == null || !lost.follower().equals(subscribers.get(lost.threadId()))) {
      return this; // unsubscribed, or followed anew, meanwhile
    }
    subscribers.remove(lost.threadId());
    ActorRef<Command> self = getContext().getSelf();
    registry.<ThreadSummary>askWithStatus(reply -> new ThreadRegistry.Get(lost.threadId(), reply), settings.askTimeout())
        .whenComplete((known, error) -> self.tell(new Continue(() -> {
          if (subscriptions.get(lost.threadId()) != subscription || subscribers.containsKey(lost.threadId())) {
            return;
          }
          if (error == null) {
            subscribe(lost.threadId(), subscription, lost.cursor());
          } else {
            subscriptions.remove(lost.threadId()); // deleted: nothing more to follow
          }
        })));
    return this;
  }

  private boolean unsubscribe(UUID threadId) {
    subscriptions.remove(threadId);
    pending.values().removeIf(request -> request.threadId().equals(threadId));
    ActorRef<ThreadUpdate> subscriber = subscribers.remove(threadId);
    if (subscriber != null) {
      getContext().stop(subscriber); // the thread watches it and lets it go
      return true;
    }
    return false;
  }

  private Behavior<Command> fromThread(FromThread message) {
    CodexThreads.Subscription subscription = subscriptions.get(message.threadId());
    if (subscription == null) {
      return this; // unsubscribed meanwhile
    }
    for (Outbound outbound : subscription.render(message.update())) {
      if (outbound instanceof Outbound.Notification n) {
        send(n.message());
      } else if (outbound instanceof Outbound.ServerRequest r) {
        if (pending.values().stream().anyMatch(p -> p.requestId().equals(r.legatoRequestId()))) {
          continue; // offered again while we still wait for the client's answer
        }
        long requestId = nextRequestId++;
        pending.put(requestId, new CodexThreads.PendingRequest(message.threadId(), r.legatoRequestId(), r.method()));
        send(r.message(LongNode.valueOf(requestId)));
      } else if (outbound instanceof Outbound.Resolved resolved) {
        pending.entrySet().stream()
            .filter(e -> e.getValue().requestId().equals(resolved.legatoRequestId()))
            .map(Map.Entry::getKey).findFirst().ifPresent(requestId -> {
              pending.remove(requestId);
              send(resolved.message(LongNode.valueOf(requestId)));
            });
      }
    }
    return closing ? Behaviors.stopped() : this;
  }

  private void reply(JsonNode id, JsonNode result) {
    send(JsonRpc.response(id, result));
  }

  private void send(ObjectNode message) {
    if (closing) {
      return;
    }
    if (message.has("error")) {
      metrics.error(message.path("error").path("code").asInt());
    }
    if (!out.offer(message.toString())) {
      // Too slow to read what its threads produce: cut it loose before it costs memory. Threads go on.
      closing = true;
      metrics.slowClient();
      getContext().getLog().warn("disconnecting a client of tenant {} that does not keep up ({} messages or {}"
          + " characters queued)", identity.tenant(), settings.outboundQueue(), settings.outboundQueueCharacters());
      // a plain close: Pekko HTTP would log a failed stream as an error with its stack trace
      out.cutOff(Gateway.POLICY_VIOLATION, "not reading fast enough");
    }
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private EntityRef<ThreadCommand> thread(UUID threadId) {
    return sharding.entityRefFor(ThreadEntity.TYPE_KEY, threadId.toString());
  }

  /** Runs {@code then} on the actor once the thread is known to be this tenant's; otherwise answers an error. */
  private void owned(JsonNode id, UUID threadId, Consumer<ThreadSummary> then) {
    await(id, registry.<ThreadSummary>askWithStatus(reply -> new ThreadRegistry.Get(threadId, reply),
        settings.askTimeout()), then);
  }

  /** Continues on the actor with the result, or answers the request with the error. */
  private <T> void await(JsonNode id, CompletionStage<T> stage, Consumer<T> then) {
    getContext().pipeToSelf(stage, (value, error) -> new Continue(() -> {
      if (error == null) {
        try {
          then.accept(value);
        } catch (Failure failure) {
          send(JsonRpc.error(id, failure.code(), failure.getMessage()));
        }
      } else {
        send(JsonRpc.error(id, code(error), message(error)));
      }
    }));
  }

  private static int code(Throwable error) {
    Throwable cause = error.getCause() != null && error instanceof java.util.concurrent.CompletionException
        ? error.getCause() : error;
    if (cause instanceof Failure failure) {
      return failure.code();
    }
    if (cause instanceof TimeoutException) {
      return JsonRpc.TIMED_OUT;
    }
    return switch (FailureKind.of(cause.getMessage())) {
      case PODIUM -> JsonRpc.PODIUM_UNAVAILABLE;
      case STORAGE -> JsonRpc.STORAGE_FAILED;
      case TIMEOUT -> JsonRpc.TIMED_OUT;
      case REQUEST -> JsonRpc.INVALID_REQUEST;
    };
  }

  private static String message(Throwable error) {
    Throwable cause = error.getCause() != null && error instanceof java.util.concurrent.CompletionException
        ? error.getCause() : error;
    if (cause instanceof TimeoutException) {
      return "Legato did not answer in time; try again";
    }
    return cause instanceof StatusReply.ErrorMessage || cause instanceof Failure ? cause.getMessage()
        : String.valueOf(cause.getMessage());
  }

  private static UUID threadId(ObjectNode params) {
    String id = text(params, "threadId");
    if (id == null) {
      throw Failure.params("threadId is required");
    }
    try {
      UUID uuid = UUID.fromString(id);
      if (!uuid.toString().equals(id.toLowerCase(java.util.Locale.ROOT))) {
        throw new IllegalArgumentException(id);
      }
      return uuid;
    } catch (IllegalArgumentException e) {
      throw Failure.params("threadId must be a UUID, not '" + id + "'");
    }
  }

  /** Whether a resume or fork answers with the thread's turns: not when the client asks {@code excludeTurns}. */
  private static boolean withTurns(JsonNode params) {
    return !params.path("excludeTurns").asBoolean(false);
  }

  private static String text(JsonNode params, String field) {
    JsonNode value = params.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }

  private static String firstText(JsonNode params, String... fields) {
    for (String field : fields) {
      String value = text(params, field);
      if (value != null && !value.isBlank()) {
        return value;
      }
    }
    return null;
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
