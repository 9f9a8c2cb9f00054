package dev.legato.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadUpdate;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.BehaviorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.junit.jupiter.api.Test;

/** A follower hands the connection its thread's updates, and hands it back the cursor when the thread restarts. */
class ThreadFollowerTest {
  final UUID threadId = UUID.randomUUID();
  final TestInbox<Connection.Command> connection = TestInbox.create();
  final BehaviorTestKit<ThreadUpdate> follower = BehaviorTestKit.create(ThreadFollower.create(threadId, connection.getRef()));

  @Test
  void aThreadRestartingAfterAFailedWriteIsFollowedAnewFromTheLastSequenceNumberSeen() {
    ThreadUpdate.Persisted turn = new ThreadUpdate.Persisted(5, new ThreadEvent.TurnStarted("turn_1", "msg_1", "hi", 1));
    follower.run(new ThreadUpdate.Live(4, null));
    follower.run(turn);
    follower.run(new ThreadUpdate.Restarting("storage: disk full"));

    assertEquals(new Connection.FromThread(threadId, new ThreadUpdate.Live(4, null)), connection.receiveMessage());
    assertEquals(new Connection.FromThread(threadId, turn), connection.receiveMessage());
    assertEquals(new Connection.ThreadLost(threadId, follower.getRef(), 5, null,
        Connection.ThreadLost.Ended.STOPPED), connection.receiveMessage(),
        "the connection follows anew from there");
    assertFalse(follower.isAlive(), "this subscription is over");
  }

  @Test
  void aThreadThatMovedIsFollowedAnewAtOnceFromTheLastSequenceNumberSeen() {
    follower.run(new ThreadUpdate.Live(9, null));
    follower.run(new ThreadUpdate.Moved());
    connection.receiveMessage();
    assertEquals(new Connection.ThreadLost(threadId, follower.getRef(), 9, null, Connection.ThreadLost.Ended.MOVED),
        connection.receiveMessage(), "without asking the registry: a moved thread is still there");
    assertFalse(follower.isAlive());
  }
}
