package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.JournalOperation;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.ProcessingPolicy;
import org.apache.pekko.persistence.testkit.ProcessingResult;
import org.apache.pekko.persistence.testkit.ProcessingSuccess;
import org.apache.pekko.persistence.testkit.StorageFailure;
import org.apache.pekko.persistence.testkit.WriteEvents;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.query.javadsl.PersistenceTestKitReadJournal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A thread whose journal write fails restarts in place after a backoff (Pekko's onPersistFailure): the
 * client waiting on the write hears why at once, and a follower is told to follow anew, which it does from
 * its cursor and goes on receiving everything, gapless and exactly once. The journal is Pekko's test journal
 * (with its query plugin as the thread's read journal), so that writes fail on demand; Podium is the
 * emulator.
 */
class ThreadRestartTest {
  static final Duration TIMEOUT = Duration.ofSeconds(15);
  static final String DISK_FULL = "storage: disk full; nothing was recorded (try again once there is space)";
  static PodiumEmulator emulator;
  static ActorTestKit testKit;
  static PersistenceTestKit journal;

  @BeforeAll
  static void start() throws Exception {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    testKit = ActorTestKit.create(PersistenceTestKitPlugin.getInstance().config()
        .withFallback(ConfigFactory.parseMap(Map.of(
            "legato.storage.data-dir", Files.createTempDirectory("legato-restarts").toString(),
            "legato.podium.url", emulator.baseUrl(),
            "legato.thread.read-journal", PersistenceTestKitReadJournal.Identifier())))
        .withFallback(ConfigFactory.parseString("""
            pekko.loglevel = ERROR
            legato.thread.restart-after-failed-write.min-backoff = 300ms
            """))
        .withFallback(ConfigFactory.load()));
    journal = PersistenceTestKit.create(testKit.system());
  }

  @AfterEach
  void writesSucceedAgain() {
    journal.resetPolicy();
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    emulator.stop();
  }

  /** A follower as the gateway's is: it notes the last sequence number it saw, and follows anew from there. */
  static final class Follower {
    final ActorRef<ThreadCommand> thread;
    final TestProbe<ThreadUpdate> updates = testKit.createTestProbe();
    final List<Long> persisted = new ArrayList<>();
    long cursor;

    Follower(ActorRef<ThreadCommand> thread) {
      this.thread = thread;
      follow(null);
    }

    void follow(Long after) {
      TestProbe<StatusReply<Done>> subscribed = testKit.createTestProbe();
      thread.tell(new ThreadCommand.Subscribe(updates.getRef(), after, subscribed.getRef()));
      assertTrue(subscribed.receiveMessage(TIMEOUT).isSuccess());
    }

    /** Updates until one {@code stop} accepts; sequence numbers noted. */
    List<ThreadUpdate> until(java.util.function.Predicate<ThreadUpdate> stop) {
      List<ThreadUpdate> seen = new ArrayList<>();
      while (true) {
        ThreadUpdate update = updates.receiveMessage(TIMEOUT);
        seen.add(update);
        if (update instanceof ThreadUpdate.Persisted p) {
          persisted.add(p.sequenceNr());
          cursor = p.sequenceNr();
        } else if (update instanceof ThreadUpdate.Live live) {
          cursor = Math.max(cursor, live.afterSequenceNr());
        }
        if (stop.test(update)) {
          return seen;
        }
      }
    }

    List<ThreadUpdate> untilTurnEnded() {
      return until(u -> u instanceof ThreadUpdate.Persisted p && p.event() instanceof ThreadEvent.TurnEnded);
    }

    /** Every persisted event it got, numbered 2, 3, 4, … (1 is the thread's creation, before it followed). */
    void sawEachEventOnceInOrder() {
      for (int i = 0; i < persisted.size(); i++) {
        assertEquals(i + 2L, persisted.get(i), "gapless, exactly once: " + persisted);
      }
    }
  }

  static ActorRef<ThreadCommand> thread() {
    ActorRef<ThreadCommand> thread = testKit.spawn(ThreadEntity.create(UUID.randomUUID()));
    TestProbe<StatusReply<ThreadCommand.Created>> created = testKit.createTestProbe();
    thread.tell(new ThreadCommand.Create("echo", "/work", null, created.getRef()));
    assertTrue(created.receiveMessage(TIMEOUT).isSuccess());
    return thread;
  }

  static StatusReply<ThreadCommand.TurnAccepted> startTurn(ActorRef<ThreadCommand> thread, String text) {
    TestProbe<StatusReply<ThreadCommand.TurnAccepted>> reply = testKit.createTestProbe();
    thread.tell(new ThreadCommand.StartTurn(text, reply.getRef()));
    return reply.receiveMessage(TIMEOUT);
  }

  /** How the turn whose end closes {@code updates} ended. */
  static String outcome(List<ThreadUpdate> updates) {
    return ((ThreadEvent.TurnEnded) ((ThreadUpdate.Persisted) updates.get(updates.size() - 1)).event()).outcome();
  }

  @Test
  void aFailedWriteIsRefusedAtOnceAndTheFollowerGoesOnFromItsCursorAfterTheRestart() {
    ActorRef<ThreadCommand> thread = thread();
    Follower follower = new Follower(thread);
    assertTrue(startTurn(thread, "before the disk filled up").isSuccess());
    follower.untilTurnEnded();

    journal.failNextPersisted(new java.sql.SQLException("[SQLITE_FULL] database or disk is full"));
    long asked = System.nanoTime();
    StatusReply<ThreadCommand.TurnAccepted> refused = startTurn(thread, "no room for this");
    assertEquals(DISK_FULL, refused.getError().getMessage());
    assertTrue(System.nanoTime() - asked < Duration.ofSeconds(3).toNanos(), "answered at once");
    assertEquals(new ThreadUpdate.Restarting(DISK_FULL), follower.until(u -> u instanceof ThreadUpdate.Restarting)
        .get(0), "told before anything else");

    follower.follow(follower.cursor); // waits for the restart (the entity keeps it meanwhile)
    ThreadUpdate.Live live = (ThreadUpdate.Live) follower.updates.receiveMessage(TIMEOUT);
    assertEquals(thread, live.thread(), "the same entity, restarted in place");
    assertTrue(startTurn(thread, "after the space came back").isSuccess());
    assertEquals("completed", outcome(follower.untilTurnEnded()));
    follower.sawEachEventOnceInOrder();

    TestProbe<ThreadCommand.ThreadDetails> details = testKit.createTestProbe();
    thread.tell(new ThreadCommand.GetDetails(details.getRef()));
    assertEquals(DISK_FULL, details.receiveMessage(TIMEOUT).lastError(), "operators see what went wrong");
  }

  @Test
  void aWriteFailingMidTurnRestartsTheThreadWhichRecordsTheTurnInterruptedAndServesTheNextOne() {
    ActorRef<ThreadCommand> thread = thread();
    Follower follower = new Follower(thread);
    journal.withPolicy(new FailFirstAnswer());
    assertTrue(startTurn(thread, "an answer that cannot be written").isSuccess());
    follower.until(u -> u instanceof ThreadUpdate.Restarting);

    follower.follow(follower.cursor);
    List<ThreadUpdate> replayed = follower.untilTurnEnded();
    assertEquals("interrupted", outcome(replayed), "the turn the restart cut short is recorded so: " + replayed);

    assertTrue(startTurn(thread, "a second try").isSuccess(), "the thread serves turns again");
    List<ThreadUpdate> next = follower.untilTurnEnded();
    assertEquals("completed", outcome(next), "its agent is back: " + next);
    follower.sawEachEventOnceInOrder();
  }

  /** The first write of the agent's answer fails (no client waits on it); every other write succeeds. */
  static final class FailFirstAnswer implements ProcessingPolicy<JournalOperation> {
    private final AtomicBoolean failed = new AtomicBoolean();

    @Override
    public ProcessingResult tryProcess(String persistenceId, JournalOperation operation) {
      if (operation instanceof WriteEvents write && write.getBatch().stream().anyMatch(
          e -> e instanceof ThreadEvent.AgentMessage || e instanceof ThreadEvent.AgentMessageDelta)
          && failed.compareAndSet(false, true)) {
        return StorageFailure.create(new java.sql.SQLException("[SQLITE_FULL] database or disk is full"));
      }
      return ProcessingSuccess.getInstance();
    }
  }
}
