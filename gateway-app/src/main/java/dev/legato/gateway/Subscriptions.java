package dev.legato.gateway;

import dev.legato.gateway.protocol.CodexNotifications;
import dev.legato.gateway.protocol.CodexThreads;
import dev.legato.gateway.protocol.JsonRpc;
import dev.legato.gateway.protocol.Outbound;
import dev.legato.thread.ThreadUpdate;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

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
    followed.put(threadId, subscription);
    ActorRef<Connection.Command> self = context.getSelf();
    ActorRef<ThreadUpdate> follower = context.spawnAnonymous(ThreadFollower.create(threadId, self));
    followers.put(threadId, follower);
    threads.subscribe(threadId, follower, afterSequenceNr).whenComplete((done, error) -> {
      if (error != null) {
        self.tell(new Connection.FollowRefused(threadId, error));
      }
    });
  }

  /** Stops following the thread; false when it was not followed. */
  boolean unfollow(UUID threadId) {
    followed.remove(threadId);
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
    session.send(CodexNotifications.warning(threadId.toString(), "could not follow thread " + threadId + ": "
        + refused.error().getMessage()));
    unfollow(threadId);
  }

  /** Sends the client what a followed thread's update means to it. */
  void render(Connection.FromThread message) {
    CodexThreads.Subscription subscription = followed.get(message.threadId());
    if (subscription == null) {
      return; // unfollowed meanwhile
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
    context.pipeToSelf(threads.owned(lost.threadId()),
        (known, error) -> new Connection.LostThreadLookedUp(lost, subscription, error == null));
  }

  void lookedUp(Connection.LostThreadLookedUp lookedUp) {
    UUID threadId = lookedUp.lost().threadId();
    if (followed.get(threadId) != lookedUp.subscription() || followers.containsKey(threadId)) {
      return; // unfollowed, or followed anew, meanwhile
    }
    if (lookedUp.exists()) {
      follow(threadId, lookedUp.subscription(), lookedUp.lost().cursor());
    } else {
      followed.remove(threadId); // deleted: nothing more to follow
    }
  }

  private void sendIfAny(JsonRpc.Message message) {
    if (message != null) {
      session.send(message);
    }
  }
}
