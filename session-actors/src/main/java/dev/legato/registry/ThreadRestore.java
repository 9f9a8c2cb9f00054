package dev.legato.registry;

import dev.legato.storage.SessionStorage;
import dev.legato.thread.ThreadUpdate;
import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadCommand;
import dev.legato.thread.ThreadEntity;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * An operator's restore of a thread from its replica ({@code ./legato restore}, the admin route): a deleted
 * thread brought back, or a live one rolled back to a moment. The thread's own entity replaces its files
 * (so nothing writes them meanwhile, wherever in the cluster it lives) and stops; the thread, recovered from
 * the restored files, then tells what it was at that moment, and its tenant's registry lists it so, so that
 * clients see it as an ordinary thread again ({@code thread/list}, {@code thread/resume}).
 */
public final class ThreadRestore {
  private ThreadRestore() {}

  /** Why a restore cannot be done at all: no replica holds the thread (at that moment), or replicas are off. */
  public static final class Refused extends RuntimeException {
    private final boolean notFound;

    Refused(String message, boolean notFound) {
      super(message, null, false, false);
      this.notFound = notFound;
    }

    /** No replica holds the thread (at that moment): nothing was changed. */
    public boolean notFound() {
      return notFound;
    }
  }

  /**
   * What the thread is after the restore.
   *
   * @param listing its tenant's listing entry; null when it has no tenant, or did not exist yet at that moment
   */
  public record Outcome(UUID threadId, ThreadCommand.RestoreDone restored, String tenant, ThreadSummary listing) {}

  /**
   * Restores {@code threadId} to its state at {@code at} (null: its newest, for a deleted thread the state
   * it was deleted in). Fails with {@link Refused} when its replica holds no such state, or when the thread
   * or replicas are off; with the thread's own refusal (a turn running) or failure otherwise.
   */
  public static CompletionStage<Outcome> restore(ActorSystem<?> system, UUID threadId, Instant at, Duration timeout) {
    SessionStorage storage = SessionStorage.get(system);
    if (storage.replication().isEmpty()) {
      return CompletableFuture.failedFuture(new Refused(
          "replicas are off on this node (legato.storage.replica.mode = off): there is nothing to restore from", false));
    }
    EntityRef<ThreadCommand> thread =
        ClusterSharding.get(system).entityRefFor(ThreadEntity.TYPE_KEY, threadId.toString());
    return storage.replicaOf(threadId, at)
        .thenCompose(generation -> {
          if (generation.isEmpty()) {
            throw new Refused("no replica of thread " + threadId + " at " + storage.replication().get().target().describe()
                + (at == null ? "" : " holds a state as early as " + at), true);
          }
          // a refusal (a turn running) or a failure comes back as the thread says it, for FailureKind to classify
          return thread.<ThreadCommand.RestoreDone>askWithStatus(reply -> new ThreadCommand.Restore(at, reply), timeout);
        })
        .thenCompose(restored -> read(thread, timeout, READ_ATTEMPTS)
            .thenCompose(history -> listed(system, threadId, restored, history, timeout)));
  }

  private static final int READ_ATTEMPTS = 50;

  /**
   * The restored thread's history, or null when it did not exist yet at that moment. The entity that did the
   * restore stops through its shard right after it, and refuses what reaches it meanwhile ("being
   * restored"): such a refusal is asked again, 20 ms later, until the thread's next incarnation answers.
   */
  private static CompletionStage<ThreadCommand.Resumed> read(EntityRef<ThreadCommand> thread, Duration timeout,
                                                            int attempts) {
    return dev.legato.thread.ThreadHistories.whole(thread, ThreadCommand.Read::new, timeout)
        .handle((history, error) -> {
          if (error == null) {
            return CompletableFuture.completedFuture(history);
          }
          String message = String.valueOf(error.getMessage());
          if (attempts > 1 && message.contains("being restored")) {
            Executor later = CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS);
            return CompletableFuture.supplyAsync(() -> null, later).thenCompose(x -> read(thread, timeout, attempts - 1));
          }
          return CompletableFuture.<ThreadCommand.Resumed>completedFuture(null); // not created yet at that moment
        })
        .thenCompose(next -> next);
  }

  private static CompletionStage<Outcome> listed(ActorSystem<?> system, UUID threadId, ThreadCommand.RestoreDone restored,
                                                 ThreadCommand.Resumed history, Duration timeout) {
    ThreadEvent.ThreadCreated created = null;
    boolean archived = false;
    String preview = null;
    if (history != null) {
      for (ThreadUpdate.Persisted persisted : history.history()) {
        if (persisted.event() instanceof ThreadEvent.ThreadCreated c) {
          created = c;
        } else if (persisted.event() instanceof ThreadEvent.Archived) {
          archived = true;
        } else if (persisted.event() instanceof ThreadEvent.Unarchived) {
          archived = false;
        } else if (preview == null && persisted.event() instanceof ThreadEvent.TurnStarted started
            && started.text() != null && !started.text().isBlank()) {
          preview = started.text();
        }
      }
    }
    if (created == null || created.tenant() == null) {
      return CompletableFuture.completedFuture(new Outcome(threadId, restored, created == null ? null : created.tenant(), null));
    }
    String tenant = created.tenant();
    ThreadEvent.ThreadCreated c = created;
    boolean a = archived;
    String p = preview;
    return ClusterSharding.get(system).entityRefFor(ThreadRegistry.TYPE_KEY, tenant)
        .<ThreadSummary>askWithStatus(reply -> new ThreadRegistry.Restored(threadId, c.agentType(), c.at(), c.cwd(), a, p, reply),
            timeout)
        .thenApply(summary -> new Outcome(threadId, restored, tenant, summary));
  }
}
