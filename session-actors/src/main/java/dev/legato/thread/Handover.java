package dev.legato.thread;

import dev.legato.podium.PodiumClient;
import dev.legato.storage.SessionStorage;
import dev.legato.thread.Signal.HandOff;
import dev.legato.thread.Signal.HandedOff;
import dev.legato.thread.ThreadCommand.Request;
import java.time.Duration;
import java.util.UUID;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.EffectFactories;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * A thread stopping for its shard ({@link HandOff}: its node leaves, a rebalance moves it, it passivates): the
 * link goes (the agent's instance stays, for the next owner to reconnect to), the files are closed and shipped to
 * the replica, and only then does the entity stop, so that the node taking the thread over restores everything
 * it wrote, in either replica mode; its followers are told ({@link ThreadUpdate.Moved}) and follow it wherever it
 * starts next. A thread with nothing recorded (a spare) removes its files instead, as it does when it passivates.
 * A turn still running is recorded interrupted by whoever recovers the thread next; once its node begins to shut
 * down and another node is up, a thread starts no new turn (its sender is told {@link ThreadCommand#MOVING}, and
 * starts it on the thread's next node), so only the turns running at the drain's start and still running at its end
 * are cut ({@link #threadsMoveOn}). Meanwhile
 * requests are refused with {@link ThreadCommand#MOVING}, for their senders to try again (the shard holds new ones
 * back anyway).
 */
final class Handover {
  /** How long a stopping thread waits for its replica to hold everything it wrote. */
  private static final Duration LIMIT = Duration.ofSeconds(20);

  private final UUID threadId;
  private final ActorContext<ThreadCommand> context;
  private final EffectFactories<ThreadEvent, ThreadState> effect;
  private final AgentLifecycle agent;
  private final SessionStorage storage;
  private final String persistenceId;
  private final Subscribers followers;
  private boolean underway;
  private long began;

  Handover(UUID threadId, ActorContext<ThreadCommand> context, EffectFactories<ThreadEvent, ThreadState> effect,
           AgentLifecycle agent, SessionStorage storage, String persistenceId, Subscribers followers) {
    this.threadId = threadId;
    this.followers = followers;
    this.context = context;
    this.effect = effect;
    this.agent = agent;
    this.storage = storage;
    this.persistenceId = persistenceId;
  }

  /**
   * Whether this node is shutting down (leaving the cluster, downed, or stopping): its threads are about to move.
   */
  static boolean nodeStopping(ActorSystem<?> system) {
    return CoordinatedShutdown.get(system).getShutdownReason().isPresent();
  }

  /**
   * Whether this node is shutting down while another is up to take its threads over: they start no new turn then
   * (the hand-off would cut it), and their senders start it on the thread's next node. A node alone starts it: its
   * threads have no next node, and a request sent again would wait in its stopping shard region until that gives
   * up (30 s) and delay its stop; the turn is recorded interrupted when the node is back, as one running at the end
   * of the drain is.
   */
  static boolean threadsMoveOn(ActorSystem<?> system) {
    if (!nodeStopping(system)) {
      return false;
    }
    Cluster cluster = Cluster.get(system);
    for (Member member : cluster.state().getMembers()) {
      if (member.status() == MemberStatus.up() && !member.uniqueAddress().equals(cluster.selfMember().uniqueAddress())) {
        return true;
      }
    }
    return false;
  }

  /** Whether the thread is stopping for its shard: every command goes to {@link #handle}. */
  boolean underway() {
    return underway;
  }

  /**
   * @param nothingRecorded the thread is new (a spare prepared ahead, or one whose creation failed) and no restore
   *     just wrote its files: its files go, as they do when it passivates. Were they kept, the thread made and used on another node since would find
   *     this stale empty copy here on its next move back.
   */
  ReplyEffect<ThreadEvent, ThreadState> handle(ThreadCommand command, boolean nothingRecorded) {
    if (command instanceof HandOff) {
      if (!underway) {
        underway = true;
        began = System.nanoTime();
        agent.close();
        // a node leaving marks its files handed over whole (the next owner reads none of its log); a passivation
        // does not, so that the thread's next start here goes on with its generation
        boolean leaving = nodeStopping(context.getSystem());
        context.pipeToSelf(nothingRecorded ? storage.deleteThread(threadId) : storage.handOff(persistenceId, LIMIT, leaving),
            (done, error) -> new HandedOff(error == null ? null : String.valueOf(PodiumClient.unwrap(error).getMessage())));
      }
      return effect.noReply();
    }
    if (command instanceof HandedOff done) {
      if (done.error() != null) {
        context.getLog().warn("thread {}: stopping before its replica holds all it wrote (this node ships it later,"
            + " in a generation the next owner's supersedes): {}", threadId, done.error());
      } else {
        context.getLog().debug("thread {}: handed over in {} ms", threadId, (System.nanoTime() - began) / 1_000_000);
      }
      followers.endAll(new ThreadUpdate.Moved()); // they follow it anew, wherever it starts next
      return effect.stop().thenNoReply();
    }
    if (command instanceof Request request) {
      request.replyTo().<StatusReply<Object>>unsafeUpcast()
          .tell(StatusReply.error(ThreadCommand.MOVING));
    }
    return effect.noReply();
  }
}
