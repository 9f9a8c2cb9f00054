package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.podium.AgentEvent;
import dev.legato.thread.ThreadEvent.ApprovalRequested;
import dev.legato.thread.ThreadState.ThreadInfo;
import dev.legato.thread.ThreadState.Turn;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.junit.jupiter.api.Test;

/** A follower joining from its cursor, without actors: replay first, then where history ends, then live, once each. */
class SubscriptionsTest {
  record Replayed(long from, long upTo, ActorRef<ThreadUpdate> to) {}

  private static final ThreadInfo INFO = new ThreadInfo("echo", "dep_1", "inst_1", "/work", null, 1L, false);
  private static final Turn TURN = new Turn("turn_1", "msg_1", 2L);
  private static final ApprovalRequested APPROVAL =
      new ApprovalRequested("turn_1", "req_1", "command", "ls", "/work", "why", 3L, "call_1", null);

  private final Subscribers followers = new Subscribers();
  private final TurnRecorder recorder = new TurnRecorder(Duration.ofHours(1), 1 << 20);
  private final TestInbox<ThreadCommand> thread = TestInbox.create();
  private final TestInbox<ThreadUpdate> follower = TestInbox.create();
  private final List<ActorRef<ThreadUpdate>> watched = new ArrayList<>();
  private final List<Replayed> replays = new ArrayList<>();
  private long lastSequenceNr = 5;
  /** The entity recovered at 3 and wrote 4 and 5 itself. */
  private final long recoveredSequenceNr = 3;
  private final Subscriptions subscriptions = new Subscriptions(followers, recorder, () -> lastSequenceNr,
      () -> recoveredSequenceNr, thread.getRef(), watched::add,
      (from, upTo, to) -> replays.add(new Replayed(from, upTo, to)));

  private static ThreadUpdate name(String n) {
    return new ThreadUpdate.NameChanged(n);
  }

  @Test
  void aFollowerWithoutACursorIsLiveAtOnceAndIsOfferedWhatTheTurnWaitsFor() {
    subscriptions.join(new ThreadState.Waiting(INFO, TURN, APPROVAL), follower.getRef(), null, null);
    assertEquals(List.of(follower.getRef()), watched);
    assertTrue(replays.isEmpty());
    followers.publish(name("later"));
    assertEquals(List.of(new ThreadUpdate.Live(5, thread.getRef(), "turn_1"), new ThreadUpdate.PendingRequest(APPROVAL),
        name("later")), follower.getAllReceived());
  }

  @Test
  void aCursorAtTheEndOfTheHistoryNeedsNoReplay() {
    subscriptions.join(new ThreadState.Ready(INFO), follower.getRef(), 5L, null);
    assertTrue(replays.isEmpty());
    assertEquals(List.of(new ThreadUpdate.Live(5, thread.getRef())), follower.getAllReceived());
    assertEquals(1, followers.size());
  }

  @Test
  void aCursorAnotherEntityNumberedBeyondThisOnesRecoveryIsReplayedFromTheRecoveryOn() {
    // a follower of the thread's last entity saw 7 events, of which this one's journal holds 3 (the rest were lost
    // with their node): 4 and 5 are this entity's own, which that follower has not seen
    TestInbox<ThreadCommand> lastEntity = TestInbox.create();
    subscriptions.join(new ThreadState.Ready(INFO), follower.getRef(), 7L, lastEntity.getRef());
    assertEquals(List.of(new Replayed(4, 5, follower.getRef())), replays);

    // the same cursor numbered by this entity, or given by it (a resume's), is taken as it is
    TestInbox<ThreadUpdate> own = TestInbox.create();
    subscriptions.join(new ThreadState.Ready(INFO), own.getRef(), 5L, thread.getRef());
    TestInbox<ThreadUpdate> resumed = TestInbox.create();
    subscriptions.join(new ThreadState.Ready(INFO), resumed.getRef(), 5L, null);
    assertEquals(1, replays.size(), "no other replay");
    assertEquals(List.of(new ThreadUpdate.Live(5, thread.getRef())), own.getAllReceived());
    assertEquals(List.of(new ThreadUpdate.Live(5, thread.getRef())), resumed.getAllReceived());
  }

  @Test
  void aFollowerBehindIsReplayedFirstAndGetsWhatWasPublishedMeanwhileAfterIt() {
    ThreadState.Running running = new ThreadState.Running(INFO, TURN);
    recorder.record(TURN, false, List.of(new AgentEvent.TextDelta("msg_1", "so far")), true, 4L, 4L);
    subscriptions.join(running, follower.getRef(), 2L, null);
    assertEquals(List.of(new Replayed(3, 5, follower.getRef())), replays);
    followers.publish(name("during"));
    assertFalse(follower.hasMessages(), "held back while the replay runs");
    subscriptions.replayDone(running, follower.getRef(), null);
    followers.publish(name("after"));
    assertEquals(List.of(new ThreadUpdate.Live(5, thread.getRef(), "turn_1"),
        new ThreadUpdate.TextDelta("turn_1", TurnRecorder.itemId(TURN), "so far"), name("during"), name("after")),
        follower.getAllReceived());
  }

  @Test
  void aSubscriptionSentAgainWhileItsFirstCopyIsServedChangesNothing() {
    ThreadState.Running running = new ThreadState.Running(INFO, TURN);
    subscriptions.join(running, follower.getRef(), 2L, null);
    subscriptions.join(running, follower.getRef(), 2L, null); // a copy: its first answer was slow
    assertEquals(List.of(new Replayed(3, 5, follower.getRef())), replays, "replayed once");
    subscriptions.replayDone(running, follower.getRef(), null);
    subscriptions.join(running, follower.getRef(), 2L, null); // and once live
    followers.publish(name("once"));
    assertEquals(List.of(new ThreadUpdate.Live(5, thread.getRef(), "turn_1"), name("once")), follower.getAllReceived());
    assertEquals(1, followers.size());
  }

  @Test
  void aPendingRequestIsOfferedOnlyOnceTheReplayIsDone() {
    ThreadState.Waiting waiting = new ThreadState.Waiting(INFO, TURN, APPROVAL);
    subscriptions.join(waiting, follower.getRef(), 0L, null);
    assertEquals(List.of(new Replayed(1, 5, follower.getRef())), replays);
    assertFalse(follower.hasMessages());
    subscriptions.replayDone(waiting, follower.getRef(), "disk");
    assertEquals(List.of(new ThreadUpdate.ReplayFailed("disk"), new ThreadUpdate.Live(5, thread.getRef(), "turn_1"),
        new ThreadUpdate.PendingRequest(APPROVAL)), follower.getAllReceived());
  }

  @Test
  void aReplayThatEndsAfterTheFollowerLeftSendsNothing() {
    ThreadState.Waiting waiting = new ThreadState.Waiting(INFO, TURN, APPROVAL);
    subscriptions.join(waiting, follower.getRef(), 1L, null);
    followers.remove(follower.getRef());
    subscriptions.replayDone(waiting, follower.getRef(), null);
    followers.publish(name("later"));
    assertFalse(follower.hasMessages());
    assertTrue(followers.isEmpty());
  }
}
