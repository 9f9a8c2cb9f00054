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
  private final LongSupplier recoveredSequenceNr;
  private final ActorRef<ThreadCommand> thread;
  private final Consumer<ActorRef<ThreadUpdate>> watch;
  private final Replay journal;

  /**
   * @param recoveredSequenceNr the journal's last sequence number when the entity recovered
   * @param thread the entity, named in {@link ThreadUpdate.Live} (a follower may watch it)
   * @param watch watches a follower, so that it is removed when it stops
   */
  Subscriptions(Subscribers followers, TurnRecorder recorder, LongSupplier lastSequenceNr,
                LongSupplier recoveredSequenceNr, ActorRef<ThreadCommand> thread,
                Consumer<ActorRef<ThreadUpdate>> watch, Replay journal) {
    this.followers = followers;
    this.recorder = recorder;
    this.lastSequenceNr = lastSequenceNr;
    this.recoveredSequenceNr = recoveredSequenceNr;
    this.thread = thread;
    this.watch = watch;
    this.journal = journal;
  }

  /**
   * {@code subscriber} follows from {@code afterSequenceNr} (0: the whole history; null: none), a cursor that
   * {@code numberedBy} gave it (null: this entity). A cursor another entity gave beyond what the journal held at
   * this one's recovery counts events that were lost with their node (async replicas lose the last
   * sync-interval): the numbers after the recovery are this entity's own events, which that follower has not
   * seen (among them the interrupted end of a turn that was running), so it follows from the recovery on.
   */
  void join(ThreadState state, ActorRef<ThreadUpdate> subscriber, Long afterSequenceNr, ActorRef<?> numberedBy) {
    if (followers.follows(subscriber)) {
      return; // the same subscription sent again (its answer was slow or lost): it has what it asked for
    }
    watch.accept(subscriber);
    long upTo = lastSequenceNr.getAsLong();
    if (afterSequenceNr != null && numberedBy != null && !numberedBy.equals(thread)
        && afterSequenceNr > recoveredSequenceNr.getAsLong()) {
      afterSequenceNr = recoveredSequenceNr.getAsLong();
    }
    List<ThreadUpdate> first = new ArrayList<>();
    first.add(new ThreadUpdate.Live(upTo, thread, state.turn() == null ? null : state.turn().turnId()));
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
