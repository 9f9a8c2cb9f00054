package dev.legato.gateway;

import dev.legato.gateway.protocol.CodexNotifications;
import dev.legato.gateway.protocol.CodexThreads;
import dev.legato.gateway.protocol.JsonRpc;
import dev.legato.gateway.protocol.Outbound;
import dev.legato.thread.ThreadUpdate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.pattern.StatusReply;

/**
 * The threads a connection follows: one {@link ThreadFollower} each, their updates rendered for the client
 * (notifications, and approvals and questions through {@link ServerRequests}), and a thread whose entity
 * stopped (or restarted) followed anew from where its follower was. Used by its {@link Connection} only, on the actor.
 */
final class Subscriptions {
  private final ActorContext<Connection.Command> context;
  private final TenantThreads threads;
  private final JsonRpcSession session;
  private final ServerRequests requests;
  /** What each followed thread needs to render its updates. */
  private final Map<UUID, CodexThreads.Subscription> followed = new HashMap<>();
  private final Map<UUID, ActorRef<ThreadUpdate>> followers = new HashMap<>();
  /** The cursor each thread was last followed from, and how often that follow has gone unanswered in a row. */
  private final Map<UUID, Long> cursors = new HashMap<>();
  private final Map<UUID, Integer> unanswered = new HashMap<>();
  /** The entity that numbered a thread's cursor, where it was a lost follower's (not the thread's own answer). */
  private final Map<UUID, ActorRef<?>> numberers = new HashMap<>();
  /** How many answers each thread's updates wait for, and the updates held back meanwhile. */
  private final Map<UUID, Integer> holds = new HashMap<>();
  private final Map<UUID, List<Connection.FromThread>> held = new HashMap<>();
  /** A follow the thread did not answer (its node died meanwhile) is tried this often before the client is warned. */
  private static final int FOLLOW_ATTEMPTS = 3;

  Subscriptions(ActorContext<Connection.Command> context, TenantThreads threads, JsonRpcSession session,
                ServerRequests requests) {
    this.context = context;
    this.threads = threads;
    this.session = session;
    this.requests = requests;
  }

  boolean follows(UUID threadId) {
    return followed.containsKey(threadId);
  }

  /** The threads followed (Codex's "loaded" threads). */
  Set<UUID> threads() {
    return followed.keySet();
  }

  /**
   * Follows the thread from {@code afterSequenceNr} (null: from now on). If the thread refuses, the client is
   * warned and the thread is no longer followed.
   */
  void follow(UUID threadId, CodexThreads.Subscription subscription, Long afterSequenceNr) {
    follow(threadId, subscription, afterSequenceNr, null);
  }

  /** The same, with a cursor that the entity {@code numberedBy} gave (a lost follower's; null: the thread's now). */
  private void follow(UUID threadId, CodexThreads.Subscription subscription, Long afterSequenceNr,
                      ActorRef<?> numberedBy) {
    followed.put(threadId, subscription);
    ActorRef<Connection.Command> self = context.getSelf();
    ActorRef<ThreadUpdate> follower = context.spawnAnonymous(ThreadFollower.create(threadId, self));
    followers.put(threadId, follower);
    cursors.put(threadId, afterSequenceNr);
    if (numberedBy == null) {
      numberers.remove(threadId);
    } else {
      numberers.put(threadId, numberedBy);
    }
    threads.subscribe(threadId, follower, afterSequenceNr, numberedBy).whenComplete((done, error) -> {
      if (error != null) {
        self.tell(new Connection.FollowRefused(threadId, follower, error));
      }
    });
  }

  /** Stops following the thread; false when it was not followed. */
  boolean unfollow(UUID threadId) {
    followed.remove(threadId);
    cursors.remove(threadId);
    numberers.remove(threadId);
    unanswered.remove(threadId);
    requests.forget(threadId);
    ActorRef<ThreadUpdate> follower = followers.remove(threadId);
    if (follower == null) {
      return false;
    }
    context.stop(follower); // the thread watches it and lets it go
    return true;
  }

  void refused(Connection.FollowRefused refused) {
    UUID threadId = refused.threadId();
    if (!refused.follower().equals(followers.get(threadId))) {
      return; // a follow superseded meanwhile
    }
    CodexThreads.Subscription subscription = followed.get(threadId);
    int attempts = unanswered.merge(threadId, 1, Integer::sum);
    if (timedOut(refused.error()) && subscription != null && attempts < FOLLOW_ATTEMPTS) {
      // unanswered, not refused: the subscription may have gone to a node that died; a new follower asks again
      // (the old one stops, so a late answer to it changes nothing)
      Long cursor = cursors.get(threadId);
      context.stop(followers.remove(threadId));
      follow(threadId, subscription, cursor, numberers.get(threadId));
      return;
    }
    session.send(CodexNotifications.warning(threadId.toString(), "could not follow thread " + threadId + ": "
        + refused.error().getMessage()));
    unfollow(threadId);
  }

  /**
   * Holds the thread's updates back until {@link #release} (as often as held): a request's answer that they must
   * not overtake is on its way.
   */
  void hold(UUID threadId) {
    holds.merge(threadId, 1, Integer::sum);
  }

  /** The client was answered that the thread's entity {@code by} started turn {@code turnId}: an end is owed to it. */
  void turnAccepted(UUID threadId, String turnId, ActorRef<?> by) {
    CodexThreads.Subscription subscription = followed.get(threadId);
    if (subscription != null) {
      subscription.turnAccepted(turnId, by);
    }
  }

  /** One hold of the thread's updates is over; with the last, those held back are sent, in order. */
  void release(UUID threadId) {
    if (holds.merge(threadId, -1, Integer::sum) > 0) {
      return;
    }
    holds.remove(threadId);
    List<Connection.FromThread> waiting = held.remove(threadId);
    if (waiting != null) {
      waiting.forEach(this::render);
    }
  }

  /** Sends the client what a followed thread's update means to it (later, if the thread's updates are held). */
  void render(Connection.FromThread message) {
    if (!holds.isEmpty() && holds.containsKey(message.threadId())) { // nearly always empty: every delta comes here
      held.computeIfAbsent(message.threadId(), id -> new ArrayList<>()).add(message);
      return;
    }
    CodexThreads.Subscription subscription = followed.get(message.threadId());
    if (subscription == null) {
      return; // unfollowed meanwhile
    }
    if (!unanswered.isEmpty()) {
      unanswered.remove(message.threadId()); // it answers again
    }
    for (Outbound outbound : subscription.render(message.update())) {
      if (outbound instanceof Outbound.Notification notification) {
        session.send(notification.message());
      } else if (outbound instanceof Outbound.ServerRequest request) {
        sendIfAny(requests.send(message.threadId(), request));
      } else if (outbound instanceof Outbound.Resolved resolved) {
        sendIfAny(requests.resolve(resolved));
      }
    }
  }

  /** The followed thread's entity stopped or restarted: it is followed again from the cursor if it still exists. */
  void lost(Connection.ThreadLost lost) {
    CodexThreads.Subscription subscription = followed.get(lost.threadId());
    if (subscription == null || !lost.follower().equals(followers.get(lost.threadId()))) {
      return; // unfollowed, or followed anew, meanwhile
    }
    followers.remove(lost.threadId());
    // An entity that stopped may have stopped for good (its thread deleted): the registry says whether the thread is
    // still there. One that moved or died with its node did not: it is followed again at once (once sharding let
    // a dead node go).
    CompletionStage<?> owned = switch (lost.ended()) {
      case STOPPED -> threads.owned(lost.threadId());
      case MOVED -> CompletableFuture.completedFuture(null);
      case NODE_GONE -> CompletableFuture.runAsync(() -> { },
          CompletableFuture.delayedExecutor(NODE_GONE_DELAY.toMillis(), TimeUnit.MILLISECONDS));
    };
    context.getLog().debug("thread {}: its entity {} {}; following it anew after {}", lost.threadId(),
        lost.numberedBy(), lost.ended(), lost.cursor());
    lookedUpWhen(owned, lost, subscription);
  }

  /** Once {@code owned} answers, the connection follows the lost thread anew, or learns why not. */
  private void lookedUpWhen(CompletionStage<?> owned, Connection.ThreadLost lost, CodexThreads.Subscription subscription) {
    context.pipeToSelf(owned, (known, error) -> new Connection.LostThreadLookedUp(lost, subscription, error));
  }

  /** How long after its node's removal a thread is followed anew: sharding has let the dead node go by then. */
  private static final Duration NODE_GONE_DELAY = Duration.ofMillis(500);

  private static boolean timedOut(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof java.util.concurrent.TimeoutException
          || cause.getClass().getSimpleName().equals("AskTimeoutException")) {
        return true;
      }
    }
    return false;
  }

  void lookedUp(Connection.LostThreadLookedUp lookedUp) {
    UUID threadId = lookedUp.lost().threadId();
    if (followed.get(threadId) != lookedUp.subscription() || followers.containsKey(threadId)) {
      return; // unfollowed, or followed anew, meanwhile
    }
    context.getLog().debug("thread {}: {}", threadId,
        lookedUp.error() == null ? "following it anew" : "no answer where it is: " + lookedUp.error());
    if (lookedUp.error() == null) {
      unanswered.remove(threadId);
      follow(threadId, lookedUp.subscription(), lookedUp.lost().cursor(), lookedUp.lost().numberedBy());
    } else if (lookedUp.error() instanceof StatusReply.ErrorMessage
        || lookedUp.error().getCause() instanceof StatusReply.ErrorMessage) {
      followed.remove(threadId); // deleted: nothing more to follow
    } else if (unanswered.merge(threadId, 1, Integer::sum) < FOLLOW_ATTEMPTS) {
      // its registry did not answer (moving itself): asked again rather than taking the thread for deleted
      lookedUpWhen(threads.owned(threadId), lookedUp.lost(), lookedUp.subscription());
    } else {
      session.send(CodexNotifications.warning(threadId.toString(), "could not follow thread " + threadId + " again: "
          + lookedUp.error().getMessage()));
      followed.remove(threadId);
      unanswered.remove(threadId);
    }
  }

  private void sendIfAny(JsonRpc.Message message) {
    if (message != null) {
      session.send(message);
    }
  }
}
