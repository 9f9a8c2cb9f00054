package dev.legato.gateway;

import static dev.legato.gateway.protocol.ClientParams.firstText;
import static dev.legato.gateway.protocol.ClientParams.flag;
import static dev.legato.gateway.protocol.ClientParams.text;
import static dev.legato.gateway.protocol.ClientParams.threadId;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.gateway.TenantThreads.NewThread;
import dev.legato.gateway.TenantThreads.Owned;
import dev.legato.gateway.protocol.CodexNotifications;
import dev.legato.gateway.protocol.CodexThreads;
import dev.legato.gateway.protocol.Json;
import dev.legato.gateway.protocol.JsonRpc.Failure;
import dev.legato.registry.ThreadQuery;
import dev.legato.registry.ThreadSummary;
import dev.legato.thread.ThreadCommand;
import java.util.UUID;

/**
 * The {@code thread/*} methods: start, resume, fork, read, list, turns/list, archive, unarchive, delete,
 * name/set, unsubscribe. Each checks its params, asks the tenant's registry and threads (a thread only once
 * it is known to be the tenant's), and finishes on the actor: the reply, and whether the connection follows
 * the thread. Used by its {@link Connection} only, on the actor.
 */
final class ThreadMethods {
  private final JsonRpcSession session;
  private final TenantThreads threads;
  private final Subscriptions subscriptions;
  private final GatewaySettings settings;

  ThreadMethods(JsonRpcSession session, TenantThreads threads, Subscriptions subscriptions, GatewaySettings settings) {
    this.session = session;
    this.threads = threads;
    this.subscriptions = subscriptions;
    this.settings = settings;
  }

  /** A new thread of {@code agentType} (or {@code model}; the default one without), followed by the client. */
  void start(JsonNode id, ObjectNode params) {
    String agentType = firstText(params, "agentType", "model");
    if (agentType == null) {
      agentType = settings.defaultAgentType();
    } else if (!settings.agentTypes().contains(agentType)) {
      throw Failure.params("unknown agent type (model) '" + agentType + "'; available: " + settings.agentTypes());
    }
    NewThread thread = new NewThread(agentType, text(params, "name"), text(params, "cwd"), null);
    session.await(id, threads.start(thread), summary -> {
      CodexThreads.Subscription subscription = CodexThreads.started(summary);
      session.reply(id, subscription.startResponse());
      session.send(subscription.startedNotification());
      subscriptions.follow(summary.threadId(), subscription, null);
    });
  }

  /** The thread with its history (unless {@code excludeTurns}), followed from there on. */
  void resume(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    boolean withTurns = !flag(params, "excludeTurns");
    session.await(id, threads.owned(threadId, threads::resume), resumed -> {
      subscriptions.unfollow(threadId);
      CodexThreads.Subscription subscription = CodexThreads.resumed(resumed.summary(), resumed.answer());
      session.reply(id, subscription.resumeResponse(withTurns));
      subscriptions.follow(threadId, subscription, resumed.answer().lastSequenceNr());
    });
  }

  /**
   * A new thread whose journal starts with the source's ended turns (and memories), through
   * {@code lastTurnId} when given; its agent is told that conversation with the first turn. The source is
   * checked to be the tenant's; the fork reads what it copies from it. The client follows the fork.
   */
  void fork(JsonNode id, ObjectNode params) {
    UUID sourceId = threadId(params);
    String lastTurnId = text(params, "lastTurnId");
    boolean withTurns = !flag(params, "excludeTurns");
    session.await(id, threads.owned(sourceId)
            .thenApply(source -> forkOf(source, lastTurnId))
            .thenCompose(threads::start)
            .thenCompose(fork -> threads.read(fork.threadId()).thenApply(read -> new Owned<>(fork, read))), fork -> {
          UUID forkId = fork.summary().threadId();
          CodexThreads.Subscription subscription = CodexThreads.forked(fork.summary(), fork.answer(), sourceId);
          session.reply(id, subscription.resumeResponse(withTurns));
          session.send(subscription.startedNotification());
          subscriptions.follow(forkId, subscription, fork.answer().lastSequenceNr());
        });
  }

  private static NewThread forkOf(ThreadSummary source, String lastTurnId) {
    String name = source.name();
    return new NewThread(source.agentType(), name == null || name.isBlank() ? null : "fork of " + name,
        source.cwd(), new ThreadCommand.ForkOf(source.threadId(), lastTurnId));
  }

  void read(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    boolean includeTurns = flag(params, "includeTurns");
    session.answer(id, threads.owned(threadId, threads::read)
        .thenApply(read -> CodexThreads.readResponse(read.summary(), read.answer(), includeTurns)));
  }

  void turnsList(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    session.answer(id, threads.owned(threadId, threads::read)
        .thenApply(read -> CodexThreads.turnsListResponse(read.summary(), read.answer(), params)));
  }

  void list(JsonNode id, ObjectNode params) {
    ThreadQuery.Archived archived = flag(params, "archived")
        ? ThreadQuery.Archived.ARCHIVED : ThreadQuery.Archived.ACTIVE;
    String sortKey = text(params, "sortKey");
    ThreadQuery.SortBy sortBy = "updated_at".equals(sortKey) || "updatedAt".equals(sortKey)
        ? ThreadQuery.SortBy.UPDATED : ThreadQuery.SortBy.CREATED;
    int limit = params.path("limit").asInt(0);
    if (limit < 0) {
      throw Failure.params("limit must not be negative");
    }
    ThreadQuery query = new ThreadQuery(archived, firstText(params, "searchTerm", "search"), sortBy,
        text(params, "cursor"), limit);
    session.answer(id, threads.list(query).thenApply(CodexThreads::listResponse));
  }

  /** Archives ({@code archive}) or unarchives the thread; clients following it hear it from the thread. */
  void archive(JsonNode id, ObjectNode params, boolean archive) {
    UUID threadId = threadId(params);
    session.await(id, threads.owned(threadId, thread -> threads.archive(thread, archive)), archived -> {
      session.reply(id, archive ? Json.object() : CodexThreads.unarchiveResponse(archived.answer()));
      if (!subscriptions.follows(threadId)) {
        session.send(archive ? CodexNotifications.archived(threadId.toString())
            : CodexNotifications.unarchived(threadId.toString()));
      }
    });
  }

  void delete(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    session.await(id, threads.owned(threadId, threads::delete), deleted -> {
      subscriptions.unfollow(threadId);
      session.reply(id, Json.object());
      session.send(CodexNotifications.deleted(threadId.toString()));
    });
  }

  /** Renames the thread and announces it to every client following it, and to this one. */
  void rename(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    String name = text(params, "name");
    if (name == null) {
      throw Failure.params("thread/name/set needs a name");
    }
    session.await(id, threads.owned(threadId, thread -> threads.rename(thread, name)), renamed -> {
      ThreadSummary summary = renamed.answer();
      session.reply(id, Json.object());
      threads.announceName(threadId, summary.name());
      if (!subscriptions.follows(threadId)) { // followers hear it from the thread, this client now
        session.send(CodexNotifications.nameUpdated(threadId.toString(), summary.name()));
      }
    });
  }

  void unsubscribe(JsonNode id, ObjectNode params) {
    boolean was = subscriptions.unfollow(threadId(params));
    session.reply(id, Json.object().put("status", was ? "unsubscribed" : "notSubscribed"));
  }
}
