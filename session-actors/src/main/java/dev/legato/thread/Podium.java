package dev.legato.thread;

import dev.legato.podium.NativeCodec;
import dev.legato.podium.PodiumClient;
import dev.legato.podium.PodiumSettings;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.typed.ActorSystem;

/** The actor system's one Podium client and frame codec, shared by every thread on this node. */
public final class Podium implements Extension {
  private final PodiumClient client;
  private final NativeCodec codec = new NativeCodec();

  private Podium(ExtendedActorSystem system) {
    this.client = new PodiumClient(system, PodiumSettings.from(system.settings().config()));
  }

  public static Podium get(ActorSystem<?> system) {
    return Id.INSTANCE.get(system);
  }

  public PodiumClient client() {
    return client;
  }

  public NativeCodec codec() {
    return codec;
  }

  private static final class Id extends AbstractExtensionId<Podium> {
    static final Id INSTANCE = new Id();

    @Override
    public Podium createExtension(ExtendedActorSystem system) {
      return new Podium(system);
    }
  }
}
