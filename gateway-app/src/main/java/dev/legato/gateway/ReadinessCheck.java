package dev.legato.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import com.typesafe.config.Config;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;

/**
 * Pekko Management's readiness check (configured in application.conf): ready while the gateway accepts
 * connections, as {@code /readyz} says. {@link Routes} serves the management {@code /alive}, {@code /ready} and
 * {@code /startup} in place of Pekko Management's own, which answer 500 naming the check's class when not
 * ready; these answer 503 with the reason (starting, draining, stopping).
 */
public final class ReadinessCheck implements Supplier<CompletionStage<Boolean>> {
  private final State state;

  public ReadinessCheck(ActorSystem system) {
    this.state = State.of(system);
  }

  @Override
  public CompletionStage<Boolean> get() {
    return CompletableFuture.completedFuture(state.notReady() == null);
  }

  /** Whether this node's gateway accepts connections, and why not. */
  static final class State implements Extension {
    private volatile Supplier<String> notReady = () -> "starting";
    private volatile boolean started;

    static State of(ActorSystem system) {
      return Id.INSTANCE.get(system);
    }

    /** Why the gateway does not accept connections now, or null while it does. */
    String notReady() {
      Supplier<String> reason = notReady;
      return reason == null ? null : reason.get();
    }

    boolean started() {
      return started;
    }

    void accepting() {
      started = true;
      notReady = null;
    }

    /** Not ready from now on, for this reason (asked anew each time: it may count what is left). */
    void notReady(Supplier<String> reason) {
      notReady = reason;
    }

    static final class Id extends AbstractExtensionId<State> {
      static final Id INSTANCE = new Id();

      @Override
      public State createExtension(ExtendedActorSystem system) {
        return new State();
      }
    }
  }

  /** The management port's health routes ({@code pekko.management.http.routes} in application.conf). */
  public static final class Routes implements ManagementRouteProvider {
    private final State state;
    private final Config paths;

    public Routes(ExtendedActorSystem system) {
      this.state = State.of(system);
      this.paths = system.settings().config().getConfig("pekko.management.health-checks");
    }

    @Override
    public Route routes(ManagementRouteProviderSettings settings) {
      return concat(
          path(PathMatchers.separateOnSlashes(paths.getString("liveness-path")), () ->
              Directives.get(() -> complete("alive"))),
          path(PathMatchers.separateOnSlashes(paths.getString("readiness-path")), () -> Directives.get(() -> {
            String notReady = state.notReady();
            return notReady == null ? complete("ready") : complete(StatusCodes.SERVICE_UNAVAILABLE, notReady);
          })),
          path(PathMatchers.separateOnSlashes(paths.getString("startup-path")), () -> Directives.get(() ->
              state.started() ? complete("started") : complete(StatusCodes.SERVICE_UNAVAILABLE, "starting"))));
    }
  }
}
