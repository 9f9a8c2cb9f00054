package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.serialization.CborSerializable;
import java.time.Duration;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.BackoffSupervisorStrategy;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A client waiting on a write that fails hears why at once, before the entity stops or restarts. */
class FailedWritesTest {
  static final ActorTestKit testKit = ActorTestKit.create(PersistenceTestKitPlugin.getInstance().config()
      .withFallback(com.typesafe.config.ConfigFactory.parseString("pekko.loglevel = OFF")));
  static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  record Add(ActorRef<StatusReply<Done>> replyTo) implements CborSerializable {}

  /**
   * An entity that writes one event per command, the way a thread does when a client waits on it. Without
   * a backoff it stops when a write fails (as a registry does); with one it restarts in place (as a thread).
   */
  static final class Counter extends EventSourcedBehaviorWithEnforcedReplies<Add, String, Integer> {
    private final FailedWrites writes = new FailedWrites();

    Counter(String id, BackoffSupervisorStrategy restart) {
      super(PersistenceId.ofUniqueId(id), restart);
    }

    static Behavior<Add> create(String id) {
      return new Counter(id, null);
    }

    @Override
    public SignalHandler<Integer> signalHandler() {
      return writes.answering(newSignalHandlerBuilder()).build();
    }

    @Override
    public Integer emptyState() {
      return 0;
    }

    @Override
    public CommandHandlerWithReply<Add, String, Integer> commandHandler() {
      return (state, add) -> {
        writes.settled();
        writes.awaiting(add.replyTo());
        return Effect().persist("added").thenReply(add.replyTo(), after -> StatusReply.ack());
      };
    }

    @Override
    public EventHandler<Integer, String> eventHandler() {
      return (state, event) -> state + 1;
    }
  }

  @Test
  void aClientWaitingOnAFailedWriteHearsWhyAtOnce() {
    ActorRef<Add> counter = testKit.spawn(Counter.create("counter-1"));
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    counter.tell(new Add(reply.getRef()));
    assertTrue(reply.receiveMessage(Duration.ofSeconds(5)).isSuccess());

    journal.failNextPersisted(new java.sql.SQLException("[SQLITE_FULL] database or disk is full"));
    counter.tell(new Add(reply.getRef()));
    StatusReply<Done> refused = reply.receiveMessage(Duration.ofSeconds(5));
    assertTrue(refused.isError());
    assertEquals("storage: disk full; nothing was recorded (try again once there is space)",
        refused.getError().getMessage());
    testKit.createTestProbe().expectTerminated(counter, Duration.ofSeconds(5));

    ActorRef<Add> again = testKit.spawn(Counter.create("counter-1"));
    again.tell(new Add(reply.getRef()));
    assertTrue(reply.receiveMessage(Duration.ofSeconds(5)).isSuccess(), "usable again once the storage is");
  }

  @Test
  void anEntityRestartedAfterAFailedWriteAnswersTheClientAtOnceAndKeepsTheCommandsThatWait() {
    ActorRef<Add> counter = testKit.spawn(new Counter("counter-2",
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(300), Duration.ofSeconds(1), 0)));
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    TestProbe<StatusReply<Done>> next = testKit.createTestProbe();
    journal.failNextPersisted(new java.sql.SQLException("[SQLITE_FULL] database or disk is full"));
    counter.tell(new Add(reply.getRef()));
    counter.tell(new Add(next.getRef())); // comes while the write is in hand: it waits through the restart
    assertEquals("storage: disk full; nothing was recorded (try again once there is space)",
        reply.receiveMessage(Duration.ofSeconds(5)).getError().getMessage());
    assertTrue(next.receiveMessage(Duration.ofSeconds(5)).isSuccess(), "answered once the entity is back");
    counter.tell(new Add(reply.getRef()));
    assertTrue(reply.receiveMessage(Duration.ofSeconds(5)).isSuccess(), "the same entity, restarted in place");
    journal.expectNextPersisted("counter-2", "added");
    journal.expectNextPersisted("counter-2", "added");
    journal.expectNothingPersisted("counter-2", Duration.ofMillis(200)); // the failed write recorded nothing
  }

  @Test
  void otherStorageFailuresAreNamedInTheStoragesOwnWords() {
    String reason = FailedWrites.reason(new RuntimeException("Failed to persist",
        new dev.legato.storage.StorageException("writing events failed", new java.sql.SQLException("disk I/O error"))));
    assertEquals("storage: the write failed and nothing was recorded (disk I/O error)", reason);
    assertEquals(FailureKind.STORAGE, FailureKind.of(reason));
  }
}
