package dev.legato.podium;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** A link owner for tests: acknowledges every batch at once and forwards each event and state change. */
final class Collector {
  private Collector() {}

  /** What the probe sees: an event or a state change, one message each. */
  sealed interface Seen {
    record Event(AgentEvent event) implements Seen {}

    record State(PodiumLink.LinkState state) implements Seen {}

    record Delivered(PodiumLink.Delivered delivered) implements Seen {}
  }

  static Behavior<PodiumLink.Output> create(ActorRef<Seen> probe) {
    return Behaviors.receive(PodiumLink.Output.class)
        .onMessage(PodiumLink.Events.class, batch -> {
          batch.events().forEach(e -> probe.tell(new Seen.Event(e)));
          batch.ackTo().tell(PodiumLink.Ack.INSTANCE);
          return Behaviors.same();
        })
        .onMessage(PodiumLink.Delivered.class, delivered -> {
          probe.tell(new Seen.Delivered(delivered));
          return Behaviors.same();
        })
        .onMessage(PodiumLink.StateChanged.class, change -> {
          probe.tell(new Seen.State(change.state()));
          return Behaviors.same();
        })
        .build();
  }
}
