package dev.legato.registry;

import dev.legato.podium.PodiumClient;
import dev.legato.registry.ThreadRegistry.Command;
import dev.legato.registry.ThreadRegistry.Event;
import dev.legato.registry.ThreadRegistry.State;
import dev.legato.storage.SessionStorage;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.EffectFactories;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * A registry stopping for its shard (its node leaves, a rebalance moves it): the work it had started on threads (a
 * thread created, archived, deleted) is finished and recorded first, so that nothing it did goes unlisted; then its
 * journal is closed and shipped to the replica before the entity stops, so that the node taking the tenant's
 * registry over restores every thread it listed, in either replica mode. Meanwhile new requests are refused with
 * {@link ThreadRegistry#MOVING}, for their senders to try again (the shard holds new ones back anyway).
 */
final class RegistryHandover {
  /** How long a stopping registry waits for its replica to hold everything it wrote. */
  private static final Duration LIMIT = Duration.ofSeconds(20);

  private final ActorContext<Command> context;
  private final EffectFactories<Event, State> effect;
  private final String persistenceId;
  /** The shard asked the registry to stop: it finishes the work under way, then ships. */
  private boolean requested;
  private boolean shipping;

  RegistryHandover(ActorContext<Command> context, EffectFactories<Event, State> effect, String persistenceId) {
    this.context = context;
    this.effect = effect;
    this.persistenceId = persistenceId;
  }

  /** Whether the registry is stopping for its shard: every command but the answers of work under way comes here. */
  boolean requested() {
    return requested;
  }

  /** The registry's work under way is all recorded: the hand-off goes on (a no-op unless one was asked for). */
  void workDone() {
    if (requested && !shipping) {
      context.getSelf().tell(new ThreadRegistry.HandOff()); // taken once the last answer's event is written
    }
  }

  ReplyEffect<Event, State> handle(Command command, int workUnderway) {
    if (command instanceof ThreadRegistry.HandOff) {
      requested = true;
      if (!shipping && workUnderway == 0) {
        shipping = true;
        context.pipeToSelf(SessionStorage.get(context.getSystem()).handOff(persistenceId, LIMIT), (done, error) ->
            new ThreadRegistry.HandedOff(error == null ? null : String.valueOf(PodiumClient.unwrap(error).getMessage())));
      }
      return effect.noReply();
    }
    if (command instanceof ThreadRegistry.HandedOff done) {
      if (done.error() != null) {
        context.getLog().warn("{}: stopping before its replica holds all it wrote (this node ships it later): {}",
            persistenceId, done.error());
      }
      return effect.stop().thenNoReply();
    }
    if (command instanceof ThreadRegistry.Request request) {
      return refuse(request.replyTo());
    }
    return effect.noReply();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private ReplyEffect<Event, State> refuse(ActorRef<? extends StatusReply<?>> replyTo) {
    ((ActorRef) replyTo).tell(StatusReply.error(ThreadRegistry.MOVING));
    return effect.noReply();
  }
}
