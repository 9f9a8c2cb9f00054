package dev.legato.thread;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * A thread's whole history, asked of its entity wherever it lives: a thread on another node answers in pages its
 * remoting carries ({@code legato.thread.history-page-bytes}), and the rest is read page after page
 * ({@link ThreadCommand.ReadHistory}) up to the event that was the thread's last when it first answered.
 */
public final class ThreadHistories {
  private ThreadHistories() {}

  /** {@code first} (a {@link ThreadCommand.Resume} or {@link ThreadCommand.Read}), its history made whole. */
  public static CompletionStage<ThreadCommand.Resumed> whole(
      EntityRef<ThreadCommand> thread, Function<ActorRef<StatusReply<ThreadCommand.Resumed>>, ThreadCommand> first,
      Duration timeout) {
    return thread.askWithStatus(first::apply, timeout)
        .thenCompose(answer -> rest(thread, answer, new ArrayList<>(answer.history()), timeout));
  }

  private static CompletionStage<ThreadCommand.Resumed> rest(EntityRef<ThreadCommand> thread,
                                                              ThreadCommand.Resumed first,
                                                              List<ThreadUpdate.Persisted> events, Duration timeout) {
    long last = events.isEmpty() ? 0 : events.get(events.size() - 1).sequenceNr();
    if (last >= first.upTo()) {
      return CompletableFuture.completedFuture(new ThreadCommand.Resumed(first.status(), List.copyOf(events),
          first.upTo()));
    }
    return thread.<ThreadCommand.Resumed>askWithStatus(
            reply -> new ThreadCommand.ReadHistory(last, first.upTo(), reply), timeout)
        .thenCompose(page -> {
          if (page.history().isEmpty()) { // the thread was rolled back meanwhile (an operator's restore)
            throw new IllegalStateException("the thread's history ends at event " + last + ", not at "
                + first.upTo() + " as it did a moment ago (it was restored to an earlier moment); read it again");
          }
          events.addAll(page.history());
          return rest(thread, first, events, timeout);
        });
  }
}
