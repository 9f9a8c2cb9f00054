package dev.legato.gateway;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;

/**
 * Pekko Management's {@code /ready} asks this (configured in reference.conf): ready while the gateway
 * accepts connections, as {@code /readyz} says.
 */
public final class ReadinessCheck implements Supplier<CompletionStage<Boolean>> {
  private final Accepting accepting;

  public ReadinessCheck(ActorSystem system) {
    this.accepting = Accepting.Id.INSTANCE.get(system);
  }

  @Override
  public CompletionStage<Boolean> get() {
    return CompletableFuture.completedFuture(accepting.flag.get());
  }

  /** Whether this node's gateway accepts connections. */
  static final class Accepting implements Extension {
    final AtomicBoolean flag = new AtomicBoolean(false);

    static AtomicBoolean of(ActorSystem system) {
      return Id.INSTANCE.get(system).flag;
    }

    static final class Id extends AbstractExtensionId<Accepting> {
      static final Id INSTANCE = new Id();

      @Override
      public Accepting createExtension(ExtendedActorSystem system) {
        return new Accepting();
      }
    }
  }
}
