package dev.legato.registry;

import dev.legato.thread.ThreadCommand;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Asks to threads and registries that a moving shard or a dead node may have swallowed, sent again. Sharding loses
 * messages in three ways, and each would otherwise fail only at {@code ask-timeout} (30 s):
 * <ul>
 *   <li>a node that died: until it is removed from the cluster (the split-brain resolver's few seconds), its shards'
 *       messages still go to it. Asks still waiting are sent again half a second after a member's removal (past
 *       {@code down-removal-margin}), when every region has let the dead one go and holds new messages until the
 *       shard starts elsewhere;</li>
 *   <li>a shard handed off (a node leaving, a rebalance): its old region drops what it held for the shard between
 *       the start and the end of the hand-off. Asks still waiting are sent again when a member leaves (its shards
 *       have all been handed off by then), and any ask unanswered {@link #UNANSWERED} after its first copy is sent
 *       again, then after twice as long each time (a slow answer, say a thread that brings its agent back, is not
 *       asked a dozen times);</li>
 *   <li>a thread or a registry stopping for its shard (and a thread asked to start a turn while its node shuts
 *       down and another is up) answers {@link ThreadCommand#MOVING} or
 *       {@link ThreadRegistry#MOVING}: sent again {@link #MOVING_AGAIN} later, when its shard holds new messages for
 *       the node it moves to.</li>
 * </ul>
 * The first answer that succeeds is the answer; a refusal waits for the other copies, and is preferred to a
 * timeout. Only for asks that may be made twice: reads, a rename, a subscription (a follower already following is
 * not followed twice), the start of a thread or a turn (a copy is answered with what the first one started), a
 * thread's creation (a copy is refused, the first answers) and its archiving (a copy finds it done and says so).
 */
public final class Resends implements Extension {
  /** How long after a member's removal the asks still waiting are sent again. */
  private static final Duration AFTER_REMOVAL = Duration.ofMillis(500);
  /** How long an ask waits for an answer before it is sent again (a hand-off may have dropped it); doubled each time. */
  static final Duration UNANSWERED = Duration.ofSeconds(2);
  /** How long after "moving" a thread is asked again. */
  private static final Duration MOVING_AGAIN = Duration.ofMillis(200);

  private final ActorSystem<?> system;
  private final Set<Pending<?>> pending = ConcurrentHashMap.newKeySet();

  private Resends(ActorSystem<?> system) {
    this.system = system;
    var listener = system.systemActorOf(Behaviors.receive(ClusterEvent.MemberEvent.class)
        .onMessage(ClusterEvent.MemberRemoved.class, removed -> {
          system.scheduler().scheduleOnce(AFTER_REMOVAL, this::resendWaiting, system.executionContext());
          return Behaviors.same();
        })
        .onMessage(ClusterEvent.MemberLeft.class, left -> {
          resendWaiting();
          return Behaviors.same();
        })
        .onAnyMessage(other -> Behaviors.same()) // joining, up, exiting: nothing lost
        .build(), "legato-resends", Props.empty());
    Cluster.get(system).subscriptions().tell(Subscribe.create(listener, ClusterEvent.MemberEvent.class));
    system.scheduler().scheduleAtFixedRate(UNANSWERED.dividedBy(4), UNANSWERED.dividedBy(4), () -> {
      long now = System.nanoTime();
      for (Pending<?> ask : pending) {
        if (ask.unansweredSince(now)) {
          ask.attempt();
        }
      }
    }, system.executionContext());
  }

  public static Resends get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** {@code attempt} now, and once more whenever a shard move or a node's death may have swallowed it. */
  public <T> CompletionStage<T> ask(Supplier<CompletionStage<T>> attempt) {
    Pending<T> ask = new Pending<>(attempt, this);
    pending.add(ask);
    ask.result.whenComplete((value, error) -> pending.remove(ask));
    ask.attempt();
    return ask.result;
  }

  /** A member left or was removed: every ask still waiting is sent again, and is due again as if it were new. */
  private void resendWaiting() {
    for (Pending<?> ask : pending) {
      if (!ask.result.isDone()) {
        ask.restart();
        ask.attempt();
      }
    }
  }

  /** Asks waiting now (for tests and operators). */
  int waiting() {
    return pending.size();
  }

  private static final class Pending<T> {
    final Supplier<CompletionStage<T>> attempt;
    final Resends resends;
    final CompletableFuture<T> result = new CompletableFuture<>();
    /** Copies sent and not answered yet, and copies to send after a "moving" answer. */
    private int running;
    private Throwable failure;
    private long lastSent;
    private int sent;

    Pending(Supplier<CompletionStage<T>> attempt, Resends resends) {
      this.attempt = attempt;
      this.resends = resends;
    }

    /** The copies sent so far no longer count towards when the next is due. */
    synchronized void restart() {
      sent = 0;
    }

    synchronized boolean unansweredSince(long now) {
      return !result.isDone() && now - lastSent > UNANSWERED.toNanos() << Math.min(sent - 1, 4);
    }

    void attempt() {
      synchronized (this) {
        running++;
        sent++;
        lastSent = System.nanoTime();
      }
      CompletionStage<T> answer;
      try {
        answer = attempt.get();
      } catch (RuntimeException e) {
        answer = CompletableFuture.failedFuture(e);
      }
      answer.whenComplete(this::settled);
    }

    private synchronized void settled(T value, Throwable error) {
      running--;
      if (result.isDone()) {
        return;
      }
      if (error == null) {
        result.complete(value);
        return;
      }
      if (moving(error)) {
        running++; // the copy sent shortly counts as running already: no other copy settles the ask meanwhile
        resends.system.scheduler().scheduleOnce(MOVING_AGAIN, () -> {
          synchronized (this) {
            running--;
          }
          if (!result.isDone()) {
            attempt();
          }
        }, resends.system.executionContext());
        return;
      }
      if (failure == null || !timeout(error)) {
        failure = error; // a refusal says more than a timeout
      }
      if (running == 0) {
        result.completeExceptionally(failure);
      }
    }

    private static boolean moving(Throwable error) {
      for (Throwable cause = error; cause != null; cause = cause.getCause()) {
        if (ThreadCommand.MOVING.equals(cause.getMessage()) || ThreadRegistry.MOVING.equals(cause.getMessage())) {
          return true;
        }
      }
      return false;
    }

    private static boolean timeout(Throwable error) {
      for (Throwable cause = error; cause != null; cause = cause.getCause()) {
        if (cause instanceof TimeoutException || cause.getClass().getSimpleName().equals("AskTimeoutException")) {
          return true;
        }
      }
      return false;
    }
  }

  private static final class Id extends ExtensionId<Resends> {
    static final Id INSTANCE = new Id();

    @Override
    public Resends createExtension(ActorSystem<?> system) {
      return new Resends(system);
    }
  }
}
