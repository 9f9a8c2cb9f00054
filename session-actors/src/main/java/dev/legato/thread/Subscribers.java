package dev.legato.thread;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Who follows a thread, and how each gets a gapless stream: a follower that joins from a cursor first
 * receives the journal's events after it (the replay, read elsewhere), while the live updates published
 * meanwhile are held back for it; once its replay is done, what was held back follows, and it is live.
 * A plain object, used on the thread's own thread.
 */
final class Subscribers {
  private final Set<ActorRef<ThreadUpdate>> live = new HashSet<>();
  /** Followers still receiving their replay, with the live updates held back meanwhile. */
  private final Map<ActorRef<ThreadUpdate>, List<ThreadUpdate>> replaying = new HashMap<>();

  /** Nobody follows: nothing needs to be published. */
  boolean isEmpty() {
    return live.isEmpty() && replaying.isEmpty();
  }

  /** Whether it follows already (live, or being caught up). */
  boolean follows(ActorRef<ThreadUpdate> subscriber) {
    return live.contains(subscriber) || replaying.containsKey(subscriber);
  }

  int size() {
    return live.size() + replaying.size();
  }

  /** The follower goes live and is offered {@code pending} (an approval or question waiting for an answer), if any. */
  void goLive(ActorRef<ThreadUpdate> subscriber, ThreadEvent.Pending pending) {
    live.add(subscriber);
    if (pending != null) {
      subscriber.tell(new ThreadUpdate.PendingRequest(pending));
    }
  }

  /** The follower's replay starts: {@code first} goes out after it, then what is published meanwhile. */
  void startReplay(ActorRef<ThreadUpdate> subscriber, List<ThreadUpdate> first) {
    replaying.put(subscriber, new ArrayList<>(first));
  }

  /**
   * The follower's replay is over (with {@code failure}, or null): it is told the failure, then receives what
   * was held back. False if it is no longer replaying (it left meanwhile); then nothing is sent.
   */
  boolean replayDone(ActorRef<ThreadUpdate> subscriber, String failure) {
    List<ThreadUpdate> heldBack = replaying.remove(subscriber);
    if (heldBack == null) {
      return false;
    }
    if (failure != null) {
      subscriber.tell(new ThreadUpdate.ReplayFailed(failure));
    }
    heldBack.forEach(subscriber::tell);
    return true;
  }

  void remove(ActorRef<ThreadUpdate> subscriber) {
    live.remove(subscriber);
    replaying.remove(subscriber);
  }

  void clear() {
    live.clear();
    replaying.clear();
  }

  /** Every follower, live or still replaying, gets {@code last} now, and is let go. */
  void endAll(ThreadUpdate last) {
    live.forEach(s -> s.tell(last));
    replaying.keySet().forEach(s -> s.tell(last));
    clear();
  }

  void publish(ThreadUpdate update) {
    live.forEach(s -> s.tell(update));
    replaying.values().forEach(heldBack -> heldBack.add(update));
  }

  void publishAll(List<ThreadUpdate> updates) {
    updates.forEach(this::publish);
  }
}
