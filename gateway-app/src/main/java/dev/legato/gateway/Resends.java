package dev.legato.gateway;

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
 * Asks to threads and registries that a dead node may have swallowed, sent again. Between a node's crash and its
 * removal from the cluster (the split-brain resolver's few seconds), sharding still routes its shards' messages to
 * it, and they are lost: their asks would fail only at {@code ask-timeout} (30 s). An ask made through here that is
 * still waiting when a member is removed is sent once more (a second after, when every region has let the dead one
 * go and holds new messages until the shard starts elsewhere): the first answer that succeeds is the answer; a
 * refusal waits for the other attempt, and is preferred to a timeout. Only for asks that may be made twice: reads,
 * and a turn's start (a second start finds the first running and is refused, which then waits for the first).
 */
final class Resends implements Extension {
  /** How long after a member's removal the asks still waiting are sent again. */
  private static final Duration AFTER_REMOVAL = Duration.ofSeconds(1);

  private final ActorSystem<?> system;
  private final Set<Pending<?>> pending = ConcurrentHashMap.newKeySet();

  private Resends(ActorSystem<?> system) {
    this.system = system;
    var listener = system.systemActorOf(Behaviors.receive(ClusterEvent.MemberRemoved.class)
        .onAnyMessage(removed -> {
          system.scheduler().scheduleOnce(AFTER_REMOVAL, this::resendWaiting, system.executionContext());
          return Behaviors.same();
        }).build(), "legato-resends", Props.empty());
    Cluster.get(system).subscriptions().tell(Subscribe.create(listener, ClusterEvent.MemberRemoved.class));
  }

  static Resends get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** {@code attempt} now, and once more if a member is removed while it waits. */
  <T> CompletionStage<T> ask(Supplier<CompletionStage<T>> attempt) {
    Pending<T> ask = new Pending<>(attempt);
    pending.add(ask);
    ask.result.whenComplete((value, error) -> pending.remove(ask));
    ask.attempt();
    return ask.result;
  }

  private void resendWaiting() {
    for (Pending<?> ask : pending) {
      if (!ask.result.isDone()) {
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
    final CompletableFuture<T> result = new CompletableFuture<>();
    private int running;
    private Throwable failure;

    Pending(Supplier<CompletionStage<T>> attempt) {
      this.attempt = attempt;
    }

    void attempt() {
      synchronized (this) {
        running++;
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
      if (failure == null || !timeout(error)) {
        failure = error; // a refusal says more than a timeout
      }
      if (running == 0) {
        result.completeExceptionally(failure);
      }
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
