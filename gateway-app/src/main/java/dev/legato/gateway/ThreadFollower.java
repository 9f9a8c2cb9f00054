package dev.legato.gateway;

import dev.legato.thread.ThreadUpdate;
import java.util.UUID;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Follows one thread for a connection: hands it the thread's updates, and notes the last sequence number
 * seen. If the thread's entity stops while followed (passivated, deleted, its node died), moves
 * ({@link ThreadUpdate.Moved}: its node leaves, a rebalance; a watch would fire only once the node is gone) or
 * restarts after a failed write ({@link ThreadUpdate.Restarting}: the same entity, so no watch would fire),
 * the connection hears it with that cursor (and the entity that numbered it) and follows the thread anew: it
 * gets what it missed, then live updates, exactly once. The thread lets a follower go when it stops.
 */
final class ThreadFollower extends AbstractBehavior<ThreadUpdate> {
  private final UUID threadId;
  private final ActorRef<Connection.Command> connection;
  private long cursor;
  /** The entity followed, once it said so. */
  private ActorRef<?> thread;

  static Behavior<ThreadUpdate> create(UUID threadId, ActorRef<Connection.Command> connection) {
    return Behaviors.setup(context -> new ThreadFollower(context, threadId, connection));
  }

  private ThreadFollower(ActorContext<ThreadUpdate> context, UUID threadId, ActorRef<Connection.Command> connection) {
    super(context);
    this.threadId = threadId;
    this.connection = connection;
  }

  @Override
  public Receive<ThreadUpdate> createReceive() {
    return newReceiveBuilder()
        .onMessage(ThreadUpdate.class, this::update)
        .onSignal(Terminated.class, gone -> lost(nodeGone() ? Connection.ThreadLost.Ended.NODE_GONE
            : Connection.ThreadLost.Ended.STOPPED))
        .build();
  }

  /** This subscription is over: the connection follows the thread anew from the cursor (a new follower). */
  private Behavior<ThreadUpdate> lost(Connection.ThreadLost.Ended ended) {
    connection.tell(new Connection.ThreadLost(threadId, getContext().getSelf(), cursor, thread, ended));
    return Behaviors.stopped();
  }

  /** Whether the followed entity's node is no longer a member of the cluster (it died, or was downed). */
  private boolean nodeGone() {
    if (thread == null || thread.path().address().hasLocalScope()) {
      return false;
    }
    Address node = thread.path().address();
    for (Member member : Cluster.get(getContext().getSystem()).state().getMembers()) {
      if (member.address().equals(node)) {
        return false;
      }
    }
    return true;
  }

  private Behavior<ThreadUpdate> update(ThreadUpdate update) {
    if (update instanceof ThreadUpdate.Restarting) {
      return lost(Connection.ThreadLost.Ended.STOPPED);
    }
    if (update instanceof ThreadUpdate.Moved) {
      return lost(Connection.ThreadLost.Ended.MOVED);
    }
    if (update instanceof ThreadUpdate.Live live) {
      cursor = Math.max(cursor, live.afterSequenceNr());
      if (live.thread() != null) {
        thread = live.thread();
        getContext().watch(live.thread());
      }
    } else if (update instanceof ThreadUpdate.Persisted persisted) {
      cursor = Math.max(cursor, persisted.sequenceNr());
    }
    connection.tell(new Connection.FromThread(threadId, update));
    return this;
  }
}
