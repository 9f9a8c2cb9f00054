package dev.legato.gateway;

import dev.legato.podium.AgentCommand;
import dev.legato.registry.Resends;
import dev.legato.registry.ThreadQuery;
import dev.legato.registry.ThreadRegistry;
import dev.legato.registry.ThreadSummary;
import dev.legato.thread.ThreadCommand;
import dev.legato.thread.ThreadEntity;
import dev.legato.thread.ThreadHistories;
import dev.legato.thread.ThreadUpdate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * One tenant's registry and threads as a connection asks them: every answer a {@link CompletionStage} that
 * fails with the registry's or the thread's refusal, or after {@code ask-timeout}. Holds no state: any thread
 * may call it.
 */
final class TenantThreads {
  /** A thread to start: a new one ({@code forkOf} null), or a fork of a thread known to be the tenant's. */
  record NewThread(String agentType, String name, String cwd, ThreadCommand.ForkOf forkOf) {}

  /** A thread's listing, and what it answered once it was known to be the tenant's. */
  record Owned<T>(ThreadSummary summary, T answer) {}

  private final ClusterSharding sharding;
  private final EntityRef<ThreadRegistry.Command> registry;
  private final Duration timeout;
  /** Asks that may be made twice go through it: a node that dies meanwhile does not keep them for ask-timeout. */
  private final Resends resends;

  TenantThreads(ClusterSharding sharding, Resends resends, String tenant, Duration timeout) {
    this.sharding = sharding;
    this.resends = resends;
    this.registry = sharding.entityRefFor(ThreadRegistry.TYPE_KEY, tenant);
    this.timeout = timeout;
  }

  // ---- the registry ------------------------------------------------------------------------------------------

  /** The thread's listing; fails unless the thread is this tenant's. Ask it before anything else of a thread. */
  CompletionStage<ThreadSummary> owned(UUID threadId) {
    return resends.ask(() -> registry.askWithStatus(reply -> new ThreadRegistry.Get(threadId, reply), timeout));
  }

  /**
   * What {@code ask} asks of the thread, asked only once the thread is known to be this tenant's: another
   * tenant's thread, or none, is refused without being woken.
   */
  <T> CompletionStage<Owned<T>> owned(UUID threadId, Function<UUID, CompletionStage<T>> ask) {
    return owned(threadId)
        .thenCompose(summary -> ask.apply(threadId).thenApply(answer -> new Owned<>(summary, answer)));
  }

  CompletionStage<ThreadSummary> start(NewThread thread) {
    // sent again as the same request: the registry answers a copy with the thread the first one started
    String requestId = UUID.randomUUID().toString();
    return resends.ask(() -> registry.askWithStatus(reply -> new ThreadRegistry.StartThread(thread.agentType(),
        thread.name(), thread.cwd(), thread.forkOf(), requestId, reply), timeout));
  }

  CompletionStage<ThreadRegistry.ThreadPage> list(ThreadQuery query) {
    return resends.ask(() -> registry.askWithStatus(reply -> new ThreadRegistry.ListThreads(query, reply), timeout));
  }

  CompletionStage<ThreadSummary> archive(UUID threadId, boolean archived) {
    return registry.askWithStatus(reply -> new ThreadRegistry.ArchiveThread(threadId, archived, reply), timeout);
  }

  CompletionStage<Done> delete(UUID threadId) {
    return registry.askWithStatus(reply -> new ThreadRegistry.DeleteThread(threadId, reply), timeout);
  }

  CompletionStage<ThreadSummary> rename(UUID threadId, String name) {
    return resends.ask(() -> registry.askWithStatus(reply -> new ThreadRegistry.Rename(threadId, name, reply), timeout));
  }

  // ---- the threads -------------------------------------------------------------------------------------------

  /** The history and status, the thread's agent brought back if it was gone. */
  CompletionStage<ThreadCommand.Resumed> resume(UUID threadId) {
    return resends.ask(() -> ThreadHistories.whole(thread(threadId), ThreadCommand.Resume::new, timeout));
  }

  /** The history and status, the agent left as it is. */
  CompletionStage<ThreadCommand.Resumed> read(UUID threadId) {
    return resends.ask(() -> ThreadHistories.whole(thread(threadId), ThreadCommand.Read::new, timeout));
  }

  CompletionStage<ThreadCommand.ThreadStatus> status(UUID threadId) {
    return resends.ask(() -> thread(threadId).ask(ThreadCommand.GetStatus::new, timeout));
  }

  CompletionStage<ThreadCommand.TurnAccepted> startTurn(UUID threadId, String text) {
    // sent again as the same request: the thread answers a copy with the turn the first one started
    String requestId = UUID.randomUUID().toString();
    return resends.ask(() -> thread(threadId).askWithStatus(
        reply -> new ThreadCommand.StartTurn(text, requestId, reply), timeout));
  }

  CompletionStage<Done> steer(UUID threadId, String text) {
    return thread(threadId).askWithStatus(reply -> new ThreadCommand.Steer(text, reply), timeout);
  }

  CompletionStage<Done> interrupt(UUID threadId) {
    return thread(threadId).askWithStatus(ThreadCommand.Interrupt::new, timeout);
  }

  CompletionStage<Done> answerApproval(UUID threadId, String requestId, AgentCommand.Decision decision) {
    return thread(threadId).askWithStatus(
        reply -> new ThreadCommand.AnswerApproval(requestId, decision, reply), timeout);
  }

  CompletionStage<Done> answerQuestion(UUID threadId, String requestId, Map<String, List<String>> answers,
                                       boolean dismissed) {
    return thread(threadId).askWithStatus(
        reply -> new ThreadCommand.AnswerQuestion(requestId, answers, dismissed, reply), timeout);
  }

  /**
   * Updates to {@code follower}: those after {@code afterSequenceNr} (null: the live ones only), then live ones;
   * {@code numberedBy} is the entity that gave the cursor, when following anew after losing it (else null).
   */
  CompletionStage<Done> subscribe(UUID threadId, ActorRef<ThreadUpdate> follower, Long afterSequenceNr,
                                  ActorRef<?> numberedBy) {
    // sent again as it is: a follower already following is not followed twice
    return resends.ask(() -> thread(threadId).askWithStatus(
        reply -> new ThreadCommand.Subscribe(follower, afterSequenceNr, numberedBy, reply), timeout));
  }

  /** Tells every client following the thread its new name. */
  void announceName(UUID threadId, String name) {
    thread(threadId).tell(new ThreadCommand.AnnounceName(name));
  }

  private EntityRef<ThreadCommand> thread(UUID threadId) {
    return sharding.entityRefFor(ThreadEntity.TYPE_KEY, threadId.toString());
  }
}
