package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import dev.legato.storage.SessionStorage;
import dev.legato.storage.ThreadDatabase;
import dev.legato.storage.readside.Rows;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole actor system stops in the middle of a turn; a new one on the same data directory takes over, and a
 * follower of the old one hears how the turn ended even when it saw more than the journal kept.
 */
class ThreadCrashTest {
  static final Duration TIMEOUT = Duration.ofSeconds(15);
  @TempDir Path dataDir;
  PodiumEmulator emulator;

  @BeforeEach
  void start() {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
  }

  @AfterEach
  void stop() {
    emulator.stop();
  }

  Config config() {
    return ConfigFactory.parseMap(Map.of("legato.storage.data-dir", dataDir.toString(), "legato.podium.url", emulator.baseUrl()))
        .withFallback(ConfigFactory.parseString("""
            pekko.persistence.journal.plugin = "legato.storage.journal"
            pekko.persistence.snapshot-store.plugin = "legato.storage.snapshot"
            pekko.loglevel = WARNING
            """))
        .withFallback(ConfigFactory.load());
  }

  @Test
  void aSystemStoppedMidTurnComesBackWithTheTurnInterruptedItsTextKeptAndTheThreadUsable() throws Exception {
    UUID id = UUID.randomUUID();
    ActorTestKit first = ActorTestKit.create("before-crash", config());
    String instanceId;
    ActorRef<ThreadCommand> dead;
    try {
      ActorRef<ThreadCommand> thread = first.spawn(ThreadEntity.create(id));
      dead = thread;
      TestProbe<StatusReply<ThreadCommand.Created>> created = first.createTestProbe();
      thread.tell(new ThreadCommand.Create("coder", "/work", null, created.getRef()));
      instanceId = created.receiveMessage(TIMEOUT).getValue().instanceId();
      TestProbe<ThreadUpdate> updates = first.createTestProbe();
      TestProbe<StatusReply<Done>> ack = first.createTestProbe();
      thread.tell(new ThreadCommand.Subscribe(updates.getRef(), null, ack.getRef()));
      ack.receiveMessage(TIMEOUT);
      TestProbe<StatusReply<ThreadCommand.TurnAccepted>> accepted = first.createTestProbe();
      thread.tell(new ThreadCommand.StartTurn("/slow /long 100 interrupted by a crash", accepted.getRef()));
      assertTrue(accepted.receiveMessage(TIMEOUT).isSuccess());
      // Wait until a window of the answer is durable, then pull the plug in the middle of the message.
      updates.fishForMessage(TIMEOUT, update -> update instanceof ThreadUpdate.Persisted p
          && p.event() instanceof ThreadEvent.AgentMessageDelta
          ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
          : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore());
    } finally {
      first.shutdownTestKit();
    }

    ActorTestKit second = ActorTestKit.create("after-crash", config());
    try {
      ActorRef<ThreadCommand> thread = second.spawn(ThreadEntity.create(id));
      TestProbe<StatusReply<ThreadCommand.Resumed>> resumed = second.createTestProbe();
      thread.tell(new ThreadCommand.Resume(resumed.getRef()));
      ThreadCommand.Resumed history = resumed.receiveMessage(TIMEOUT).getValue();
      assertEquals("ready", history.status().phase(), "not stuck running");
      assertEquals(instanceId, history.status().instanceId(), "its instance still runs: reconnected");
      ThreadEvent lastEvent = history.history().get(history.history().size() - 1).event();
      assertTrue(lastEvent instanceof ThreadEvent.TurnEnded ended && ended.outcome().equals("interrupted")
          && ended.error().contains("restarted"), "the turn is recorded interrupted: " + lastEvent);

      // A client that followed the thread on the node that died may have seen events that never reached the
      // journal here (async replicas lose the last sync-interval): its cursor, numbered by the dead entity, counts
      // past this journal's end. It still hears how the turn ended, which this entity wrote after its recovery.
      long end = history.history().get(history.history().size() - 1).sequenceNr();
      TestProbe<ThreadUpdate> sawMore = second.createTestProbe();
      TestProbe<StatusReply<Done>> subscribed = second.createTestProbe();
      thread.tell(new ThreadCommand.Subscribe(sawMore.getRef(), end + 3, dead, subscribed.getRef()));
      assertTrue(subscribed.receiveMessage(TIMEOUT).isSuccess());
      ThreadUpdate heard = sawMore.receiveMessage(TIMEOUT);
      assertTrue(heard instanceof ThreadUpdate.Persisted p && p.sequenceNr() == end
          && p.event() instanceof ThreadEvent.TurnEnded ended && ended.outcome().equals("interrupted"),
          "the follower that saw more hears the turn end: " + heard);
      // the same cursor from this entity itself (as a resume gives it) is taken as it is: nothing to replay
      TestProbe<ThreadUpdate> current = second.createTestProbe();
      thread.tell(new ThreadCommand.Subscribe(current.getRef(), end, null, subscribed.getRef()));
      assertTrue(subscribed.receiveMessage(TIMEOUT).isSuccess());
      assertTrue(current.receiveMessage(TIMEOUT) instanceof ThreadUpdate.Live, "live at once, no replay");

      List<Rows.Message> messages = SessionStorage.get(second.system()).readThread(id, ThreadDatabase::messages)
          .toCompletableFuture().get(15, TimeUnit.SECONDS);
      assertEquals(List.of("user", "assistant"), messages.stream().map(Rows.Message::role).toList());
      assertTrue(!messages.get(1).text().isBlank(), "what streamed before the crash is kept");
      assertEquals("interrupted", SessionStorage.get(second.system()).readThread(id, ThreadDatabase::turns)
          .toCompletableFuture().get(15, TimeUnit.SECONDS).get(0).status());

      TestProbe<StatusReply<ThreadCommand.TurnAccepted>> accepted = second.createTestProbe();
      thread.tell(new ThreadCommand.StartTurn("carry on", accepted.getRef()));
      assertTrue(accepted.receiveMessage(TIMEOUT).isSuccess(), "the thread takes turns again");
      TestProbe<ThreadCommand.ThreadStatus> status = second.createTestProbe();
      status.awaitAssert(TIMEOUT, () -> {
        thread.tell(new ThreadCommand.GetStatus(status.getRef()));
        assertEquals("ready", status.receiveMessage(TIMEOUT).phase());
        return null;
      });
      List<Rows.Turn> turns = SessionStorage.get(second.system()).readThread(id, ThreadDatabase::turns)
          .toCompletableFuture().get(15, TimeUnit.SECONDS);
      assertEquals(List.of("interrupted", "completed"), turns.stream().map(Rows.Turn::status).toList());
    } finally {
      second.shutdownTestKit();
    }
  }
}
