package dev.legato.registry;

import dev.legato.thread.TurnActivity;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * One per node: tells each tenant's registry of the turns started in its threads on this node, as they
 * publish them ({@link TurnActivity} on the event stream), so that the thread does not know the registry.
 */
final class ActivityForwarder {
  private ActivityForwarder() {}

  static Behavior<TurnActivity> create() {
    return Behaviors.setup(context -> {
      context.getSystem().eventStream().tell(new EventStream.Subscribe<>(TurnActivity.class, context.getSelf()));
      ClusterSharding sharding = ClusterSharding.get(context.getSystem());
      return Behaviors.receiveMessage(activity -> {
        sharding.entityRefFor(ThreadRegistry.TYPE_KEY, activity.tenant())
            .tell(new ThreadRegistry.Touch(activity.threadId(), activity.prompt(), activity.at()));
        return Behaviors.same();
      });
    });
  }
}
