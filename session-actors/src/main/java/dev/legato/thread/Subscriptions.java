package dev.legato.thread;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * A follower joining the thread ({@link ThreadCommand.Subscribe}): it is watched, then gets the journal's
 * events after its cursor (the replay, while what is published meanwhile is held back for it), then where the
 * history ends ({@link ThreadUpdate.Live}) with what streamed but is not persisted yet, then live updates;
 * once live, a pending approval or question is offered to it again. In order and exactly once. A plain
 * object, used on the thread's own thread.
 */
final class Subscriptions {
  /** Sends {@code to} the persisted events numbered {@code from} to {@code upTo}; {@link Signal.ReplayDone} follows. */
  interface Replay {
    void replay(long from, long upTo, ActorRef<ThreadUpdate> to);
  }

  private final Subscribers followers;
  private final TurnRecorder recorder;
  private final LongSupplier lastSequenceNr;
  private final ActorRef<ThreadCommand> thread;
  private final Consumer<ActorRef<ThreadUpdate>> watch;
  private final Replay journal;

  /**
   * @param thread the entity, named in {@link ThreadUpdate.Live} (a follower may watch it)
   * @param watch watches a follower, so that it is removed when it stops
   */
  Subscriptions(Subscribers followers, TurnRecorder recorder, LongSupplier lastSequenceNr,
                ActorRef<ThreadCommand> thread, Consumer<ActorRef<ThreadUpdate>> watch, Replay journal) {
    this.followers = followers;
    this.recorder = recorder;
    this.lastSequenceNr = lastSequenceNr;
    this.thread = thread;
    this.watch = watch;
    this.journal = journal;
  }

  /** {@code subscriber} follows from {@code afterSequenceNr} (0: the whole history; null: none). */
  void join(ThreadState state, ActorRef<ThreadUpdate> subscriber, Long afterSequenceNr) {
    watch.accept(subscriber);
    long upTo = lastSequenceNr.getAsLong();
    List<ThreadUpdate> first = new ArrayList<>();
    first.add(new ThreadUpdate.Live(upTo, thread));
    first.addAll(recorder.catchUp(state.turn()));
    if (afterSequenceNr == null || afterSequenceNr >= upTo) {
      first.forEach(subscriber::tell);
      goLive(state, subscriber);
    } else { // everything persisted from here on is numbered above upTo: held back, it follows the replay
      followers.startReplay(subscriber, first);
      journal.replay(afterSequenceNr + 1, upTo, subscriber);
    }
  }

  /** The follower's replay is over: what was held back follows, and it is live (unless it left meanwhile). */
  void replayDone(ThreadState state, ActorRef<ThreadUpdate> subscriber, String failure) {
    if (followers.replayDone(subscriber, failure)) {
      goLive(state, subscriber);
    }
  }

  private void goLive(ThreadState state, ActorRef<ThreadUpdate> subscriber) {
    followers.goLive(subscriber, state instanceof ThreadState.Waiting waiting ? waiting.request() : null);
  }
}
