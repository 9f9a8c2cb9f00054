package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.testkit.javadsl.TestEntityRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A history answered in pages (a thread on another node) is read whole, page after page, up to its first end. */
class ThreadHistoriesTest {
  static final ActorTestKit kit = ActorTestKit.create();
  static final Duration TIMEOUT = Duration.ofSeconds(5);

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static ThreadUpdate.Persisted event(long n) {
    return new ThreadUpdate.Persisted(n, new ThreadEvent.TurnStarted("turn_" + n, "msg_" + n, "text " + n, n));
  }

  private static List<ThreadUpdate.Persisted> events(long from, long to) {
    return LongStream.rangeClosed(from, to).mapToObj(ThreadHistoriesTest::event).toList();
  }

  /**
   * A thread of {@code last} events that answers {@code pageSize} at a time (its history ending at {@code endsAt}
   * when asked for pages: rolled back meanwhile), recording what it was asked.
   */
  private static EntityRef<ThreadCommand> thread(long last, int pageSize, long endsAt, List<String> asked) {
    ThreadCommand.ThreadStatus status = new ThreadCommand.ThreadStatus("ready", null, null, null, "none");
    ActorRef<ThreadCommand> entity = kit.spawn(Behaviors.receiveMessage(command -> {
      if (command instanceof ThreadCommand.Read read) {
        asked.add("read");
        read.replyTo().tell(StatusReply.success(new ThreadCommand.Resumed(status, events(1, Math.min(pageSize, last)), last)));
      } else if (command instanceof ThreadCommand.ReadHistory page) {
        asked.add("after " + page.afterSequenceNr() + " up to " + page.upTo());
        long to = Math.min(Math.min(page.afterSequenceNr() + pageSize, page.upTo()), endsAt);
        page.replyTo().tell(StatusReply.success(new ThreadCommand.Resumed(status,
            page.afterSequenceNr() >= to ? List.of() : events(page.afterSequenceNr() + 1, to), page.upTo())));
      }
      return Behaviors.same();
    }));
    return TestEntityRef.of(ThreadEntity.TYPE_KEY, "thread", entity);
  }

  @Test
  void aHistoryInPagesIsReadWholeAndAWholeOneInOneAnswer() throws Exception {
    List<String> asked = new ArrayList<>();
    ThreadCommand.Resumed whole = ThreadHistories.whole(thread(25, 10, 25, asked), ThreadCommand.Read::new, TIMEOUT)
        .toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertEquals(events(1, 25), whole.history());
    assertTrue(whole.complete());
    assertEquals(List.of("read", "after 10 up to 25", "after 20 up to 25"), asked);

    asked.clear();
    assertEquals(events(1, 7), ThreadHistories.whole(thread(7, 10, 7, asked), ThreadCommand.Read::new, TIMEOUT)
        .toCompletableFuture().get(5, TimeUnit.SECONDS).history());
    assertEquals(List.of("read"), asked);
  }

  @Test
  void aHistoryThatEndsSoonerThanItDidIsRefusedNotAskedForever() {
    List<String> asked = new ArrayList<>();
    ExecutionException refused = assertThrows(ExecutionException.class, () -> ThreadHistories.whole(
        thread(25, 10, 15, asked), ThreadCommand.Read::new, TIMEOUT).toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertTrue(refused.getCause().getMessage().contains("ends at event 15, not at 25"), refused.getCause().getMessage());
  }
}
