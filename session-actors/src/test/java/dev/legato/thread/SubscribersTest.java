package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.junit.jupiter.api.Test;

/** Followers on their own: live fan-out, and a replaying follower's hold-back, without actors. */
class SubscribersTest {
  private final Subscribers subscribers = new Subscribers();
  private final TestInbox<ThreadUpdate> live = TestInbox.create();
  private final TestInbox<ThreadUpdate> joining = TestInbox.create();

  private static ThreadUpdate name(String n) {
    return new ThreadUpdate.NameChanged(n);
  }

  @Test
  void aReplayingFollowerGetsWhatWasPublishedMeanwhileAfterItsReplayInOrder() {
    subscribers.goLive(live.getRef(), null);
    subscribers.startReplay(joining.getRef(), List.of(name("first")));
    assertEquals(2, subscribers.size());
    subscribers.publish(name("during"));
    assertEquals(List.of(name("during")), live.getAllReceived());
    assertFalse(joining.hasMessages(), "held back while the replay runs");
    assertTrue(subscribers.replayDone(joining.getRef(), null));
    assertEquals(List.of(name("first"), name("during")), joining.getAllReceived());
  }

  @Test
  void aFailedReplayIsSaidBeforeWhatWasHeldBack() {
    subscribers.startReplay(joining.getRef(), List.of(name("first")));
    subscribers.replayDone(joining.getRef(), "disk");
    assertEquals(List.of(new ThreadUpdate.ReplayFailed("disk"), name("first")), joining.getAllReceived());
  }

  @Test
  void aRestartEndsEverySubscriptionAtOnceEvenOneStillReplaying() {
    subscribers.goLive(live.getRef(), null);
    subscribers.startReplay(joining.getRef(), List.of(name("first")));
    ThreadUpdate restarting = new ThreadUpdate.Restarting("storage: disk full");
    subscribers.endAll(restarting);
    assertEquals(List.of(restarting), live.getAllReceived());
    assertEquals(List.of(restarting), joining.getAllReceived(), "not held back behind a replay");
    assertTrue(subscribers.isEmpty());
    assertFalse(subscribers.replayDone(joining.getRef(), null));
  }

  @Test
  void aFollowerThatLeftGetsNothingMore() {
    subscribers.startReplay(joining.getRef(), List.of(name("first")));
    subscribers.goLive(live.getRef(), null);
    subscribers.remove(joining.getRef());
    subscribers.remove(live.getRef());
    assertTrue(subscribers.isEmpty());
    assertFalse(subscribers.replayDone(joining.getRef(), null), "its replay ends unheard");
    subscribers.publish(name("later"));
    assertFalse(joining.hasMessages() || live.hasMessages());
  }
}
