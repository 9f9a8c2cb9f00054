package dev.legato.registry;

import dev.legato.podium.PodiumClient;
import dev.legato.registry.ThreadRegistry.Command;
import dev.legato.registry.ThreadRegistry.Event;
import dev.legato.registry.ThreadRegistry.State;
import dev.legato.storage.SessionStorage;
import java.time.Duration;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.EffectFactories;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * A registry stopping for its shard (its node leaves, a rebalance moves it): its journal is closed and shipped to
 * the replica before the entity stops, so that the node taking the tenant's registry over restores every thread it
 * listed, in either replica mode. The answers of work it had started (a thread created, archived, deleted) that
 * arrive meanwhile are not recorded here: their clients are told to try again.
 */
final class RegistryHandover {
  /** How long a stopping registry waits for its replica to hold everything it wrote. */
  private static final Duration LIMIT = Duration.ofSeconds(20);
  private static final String MOVING = "the tenant's registry is moving to another node; try again in a moment";

  private final ActorContext<Command> context;
  private final EffectFactories<Event, State> effect;
  private final String persistenceId;
  private boolean underway;

  RegistryHandover(ActorContext<Command> context, EffectFactories<Event, State> effect, String persistenceId) {
    this.context = context;
    this.effect = effect;
    this.persistenceId = persistenceId;
  }

  boolean underway() {
    return underway;
  }

  ReplyEffect<Event, State> handle(Command command) {
    if (command instanceof ThreadRegistry.HandOff) {
      if (!underway) {
        underway = true;
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
    if (command instanceof ThreadRegistry.ThreadStarted started) {
      return effect.reply(started.request().replyTo(), StatusReply.error(MOVING));
    }
    if (command instanceof ThreadRegistry.ThreadArchived archived) {
      return effect.reply(archived.request().replyTo(), StatusReply.error(MOVING));
    }
    if (command instanceof ThreadRegistry.ThreadDeleted deleted) {
      return effect.reply(deleted.request().replyTo(), StatusReply.error(MOVING));
    }
    return effect.noReply();
  }
}
