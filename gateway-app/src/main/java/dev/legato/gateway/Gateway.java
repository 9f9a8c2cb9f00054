package dev.legato.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.extractUpgradeToWebSocket;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterList;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.pathSingleSlash;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import dev.legato.gateway.auth.AuthDirectives;
import dev.legato.gateway.auth.GatewayAuth;
import dev.legato.gateway.auth.Identity;
import dev.legato.gateway.protocol.Bootstrap;
import dev.legato.gateway.protocol.Json;
import dev.legato.registry.ThreadRegistry;
import dev.legato.thread.ThreadEntity;
import dev.legato.thread.ThreadMeters;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Legato node: the actor system (one-node cluster: threads and registries under Cluster
 * Sharding), and the HTTP server with the JSON-RPC WebSocket at {@code /} and {@code /ws} plus
 * {@code /healthz} and {@code /readyz}. Stopping it refuses new sockets and reports not ready (with the
 * reason), lets running turns end while their clients watch, then closes the sockets (1001, going away), and
 * lets threads reach a durable point and close their links.
 */
public final class Gateway implements AutoCloseable {
  public static final String VERSION = "0.1.0";
  /** WebSocket close codes (RFC 6455, 7.4.1) the gateway ends a socket with; README, "Close codes". */
  static final int GOING_AWAY = 1001;
  static final int UNSUPPORTED_DATA = 1003;
  static final int POLICY_VIOLATION = 1008;
  static final int TOO_BIG = 1009;

  private static final Logger log = LoggerFactory.getLogger(Gateway.class);

  private final ActorSystem<Void> system;
  private final GatewaySettings settings;
  private final ServerBinding binding;
  private final ReadinessCheck.State readiness;
  private final int managementPort;
  private final GatewayAuth auth;

  private Gateway(ActorSystem<Void> system, GatewaySettings settings, ServerBinding binding, int managementPort,
                  GatewayAuth auth) {
    this.system = system;
    this.settings = settings;
    this.binding = binding;
    this.readiness = ReadinessCheck.State.of(system.classicSystem());
    this.managementPort = managementPort;
    this.auth = auth;
  }

  /**
   * A port Legato was told to listen on is taken. Start has then stopped what it had started.
   * {@code key} is the configuration key that sets it.
   */
  public static final class PortInUse extends Exception {
    private final String key;
    private final int port;

    PortInUse(String what, String key, int port, Throwable cause) {
      super(what + " " + port + " is in use", cause);
      this.key = key;
      this.port = port;
    }

    public String key() {
      return key;
    }

    public int port() {
      return port;
    }
  }

  /**
   * Starts a node with this configuration (see reference.conf); returns once it accepts connections. When it
   * cannot start, it stops what it had started (the actor system, and so every port it bound) before it throws:
   * {@link PortInUse} for a port that is taken.
   */
  public static Gateway start(Config config) throws Exception {
    config = ClusterSettings.apply(config);
    boolean clustered = ClusterSettings.clustered(config);
    if (clustered) {
      ClusterSettings.requireSharedReplicas(config);
    }
    ActorSystem<Void> system;
    try {
      system = ActorSystem.create(Behaviors.empty(), "legato", config);
    } catch (RuntimeException e) {
      if (bindFailure(e)) { // Pekko has stopped the half-made system itself
        throw new PortInUse("cluster port", "pekko.remote.artery.canonical.port",
            config.getInt("pekko.remote.artery.canonical.port"), e);
      }
      throw e;
    }
    try {
      Cluster cluster = Cluster.get(system);
      if (!clustered) {
        cluster.manager().tell(Join.create(cluster.selfMember().address())); // a node of its own
      }
      // Pekko joins the seed nodes by itself; a cluster's first node waits for the others' answer first.
      int joinSeconds = clustered ? 90 : 30;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(joinSeconds);
      while (cluster.selfMember().status() != MemberStatus.up()) {
        if (System.nanoTime() > deadline || system.getWhenTerminated().toCompletableFuture().isDone()) {
          throw new IllegalStateException("this node did not join its cluster within " + joinSeconds + " s"
              + (clustered ? " (seed nodes " + config.getStringList("pekko.cluster.seed-nodes")
              + "; is one of them up and reachable at that address?)" : ""));
        }
        Thread.sleep(20);
      }
      ThreadEntity.init(system);
      ThreadRegistry.init(system);
      GatewaySettings settings = GatewaySettings.from(config);
      GatewayAuth auth = GatewayAuth.fromConfig(config.getConfig("legato.gateway.auth"));
      String codexHome = Bootstrap.CODEX_HOME; // never the data directory: clients need not know where it is
      ReadinessCheck.State readiness = ReadinessCheck.State.of(system.classicSystem());
      GatewayMetrics metrics = new GatewayMetrics(ThreadMeters.get(system));
      dev.legato.storage.SessionStorage.get(system).replication().ifPresent(metrics::replication);
      Sockets sockets = new Sockets(new AddressLimit(settings.maxConnectionsPerAddress(), settings.limitLoopback()));
      Route routes = routes(system, settings, auth, metrics, codexHome, readiness, sockets);
      ServerBinding binding;
      try {
        binding = Http.get(system).newServerAt(settings.host(), settings.port())
            .withSettings(ServerSettings.create(system.classicSystem()).withRemoteAddressAttribute(true))
            .bind(routes).toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        throw bindFailure(e) ? new PortInUse("port", "legato.gateway.port", settings.port(), e) : e;
      }
      int managementPort;
      try {
        managementPort = PekkoManagement.get(system.classicSystem()).start().toCompletableFuture()
            .get(30, TimeUnit.SECONDS).port();
      } catch (java.util.concurrent.ExecutionException e) {
        throw bindFailure(e) ? new PortInUse("management port", "pekko.management.http.port",
            config.getInt("pekko.management.http.port"), e) : e;
      }
      Gateway gateway = new Gateway(system, settings, binding, managementPort, auth);
      readiness.accepting();
      ThreadMeters meters = ThreadMeters.get(system);
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "legato-not-ready", () -> {
        // Not unbound yet: /readyz and /healthz answer while the turns drain; new sockets get 503.
        sockets.draining = true;
        sockets.drainBegan = System.nanoTime();
        sockets.turnsAtDrain = meters.runningSince(sockets.drainBegan);
        readiness.notReady(() -> "draining: " + meters.runningSince(sockets.drainBegan) + " turns still running");
        log.info("draining: {} turns running, {} connections open; waiting up to {} s for the turns to end",
            meters.threads("running"), sockets.open.size(), settings.drainTimeout().toSeconds());
        return CompletableFuture.completedFuture(Done.getInstance());
      });
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "legato-drain", () -> {
        long began = System.nanoTime();
        // A node the cluster downed no longer owns its threads: they are starting elsewhere. It lets go at once.
        boolean downed = CoordinatedShutdown.get(system).getShutdownReason()
            .filter(reason -> reason.equals(CoordinatedShutdown.clusterDowningReason())).isPresent();
        // counted when the drain began: one that ended since (before this phase) still has its end on the way
        boolean turnsWereRunning = !downed && sockets.turnsAtDrain > 0;
        return runningTurnsEnded(system, sockets.drainBegan, downed ? Duration.ZERO : settings.drainTimeout())
            .thenCompose(drained -> sentOut(system, turnsWereRunning, sockets.open))
            .thenCompose(drained -> {
              long stillRunning = meters.threads("running");
              readiness.notReady(() -> "stopping");
              List<Outbox> open = new ArrayList<>(sockets.open);
              log.info("drained in {} ms: {} turns still running (recorded interrupted when their threads come back);"
                  + " closing {} connections", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began), stillRunning,
                  open.size());
              open.forEach(out -> out.close(GOING_AWAY, "Legato is stopping"));
              return binding.terminate(Duration.ofSeconds(2));
            })
            .thenApply(terminated -> Done.getInstance());
      });
      system.getWhenTerminated().thenRun(() -> log.info("Legato stopped"));
      log.info("Legato {} started: listening on {}:{}, management on port {}, data {}, Podium {}; {}", VERSION,
          settings.host(), binding.localAddress().getPort(), managementPort,
          java.nio.file.Path.of(config.getString("legato.storage.data-dir")).toAbsolutePath().normalize(),
          config.getString("legato.podium.url"), auth.describe());
      return gateway;
    } catch (Exception | Error e) {
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS); // its ports are free again
      } catch (Exception stopping) {
        e.addSuppressed(stopping);
      }
      throw e;
    }
  }

  /** Whether this failure is a port that someone else holds (not, say, one that needs privileges). */
  private static boolean bindFailure(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (String.valueOf(cause.getMessage()).contains("Address already in use")) {
        return true;
      }
    }
    return false;
  }

  /** The sockets this node holds open, what each address holds, and whether new ones are still taken. */
  private static final class Sockets {
    final Set<Outbox> open = ConcurrentHashMap.newKeySet();
    final AddressLimit perAddress;
    volatile boolean draining;
    /** When the node began to drain ({@link System#nanoTime()}). */
    volatile long drainBegan;
    /** How many turns were running then. */
    volatile long turnsAtDrain;

    Sockets(AddressLimit perAddress) {
      this.perAddress = perAddress;
    }
  }

  /**
   * Completes when none of the turns running on this node at {@code drainBegan} runs any more (clients still
   * connected see them end), or after {@code timeout}: a turn still running then is recorded interrupted when its
   * thread recovers. Turns that clients elsewhere start on this node's threads meanwhile are not waited for: on a
   * busy node there would always be one, and they end interrupted, or complete, when their threads move.
   */
  private static CompletionStage<Done> runningTurnsEnded(ActorSystem<?> system, long drainBegan, Duration timeout) {
    ThreadMeters meters = ThreadMeters.get(system);
    CompletableFuture<Done> drained = new CompletableFuture<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    Runnable[] check = new Runnable[1];
    check[0] = () -> {
      if (meters.runningSince(drainBegan) == 0 || System.nanoTime() - deadline > 0) {
        drained.complete(Done.getInstance());
      } else {
        system.scheduler().scheduleOnce(Duration.ofMillis(50), check[0], system.executionContext());
      }
    };
    check[0].run();
    return drained;
  }

  /** How long the last updates of a turn that just ended are given to reach this node's sockets. */
  private static final Duration SETTLE = Duration.ofSeconds(1);

  /**
   * Completes {@link #SETTLE} from now when turns were drained and sockets are open: the end of a turn just drained
   * reaches its clients through the thread's followers and, in sync mode, after its write is stored (an item's end
   * can come well before its turn's). At once otherwise: a node whose threads' clients are all on other nodes hands
   * over sooner.
   */
  private static CompletionStage<Done> sentOut(ActorSystem<?> system, boolean turnsWereRunning, Set<Outbox> open) {
    if (!turnsWereRunning || open.isEmpty()) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    return org.apache.pekko.pattern.Patterns.after(SETTLE, system.classicSystem().scheduler(), system.executionContext(),
        () -> CompletableFuture.completedFuture(Done.getInstance()));
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public String host() {
    return settings.host();
  }

  /** Pekko Management's port ({@code /alive}, {@code /ready}). */
  public int managementPort() {
    return managementPort;
  }

  /** Who may connect: {@link GatewayAuth#describe()} says it in one line. */
  public GatewayAuth auth() {
    return auth;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** Accepting connections: false while starting and once shutdown has begun. */
  public boolean ready() {
    return readiness.notReady() == null;
  }

  /** Stops the node gracefully (see the class comment); returns once it has stopped. */
  @Override
  public void close() throws java.util.concurrent.ExecutionException, java.util.concurrent.TimeoutException {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping", e);
    }
  }

  private static Route routes(ActorSystem<Void> system, GatewaySettings settings, GatewayAuth auth,
                              GatewayMetrics metrics, String codexHome, ReadinessCheck.State readiness,
                              Sockets sockets) {
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    WebSocketStack stack = new WebSocketStack(system.classicSystem());
    Route socket = AuthDirectives.authenticated(auth, blocking, identity -> extractUpgradeToWebSocket(upgrade ->
        accept(upgrade, system, settings, metrics, identity, codexHome, sockets, stack)));
    Route admin = AdminRoutes.routes(system, settings, auth, blocking);
    Route notASocket = complete(StatusCodes.BAD_REQUEST,
        "Legato speaks the Codex app-server protocol over WebSocket here; connect with a WebSocket client");
    return concat(
        path("healthz", () -> get(() -> complete("ok"))),
        path("readyz", () -> get(() -> {
          String notReady = readiness.notReady();
          return notReady == null ? complete("ready") : complete(StatusCodes.SERVICE_UNAVAILABLE, notReady);
        })),
        path("metrics", () -> get(() -> AuthDirectives.authenticated(auth, blocking, identity ->
            AdminRoutes.operator(identity, () -> complete(HttpResponse.create().withEntity(
                ContentTypes.create(MediaTypes.TEXT_PLAIN, HttpCharsets.UTF_8), metrics.scrape())))))),
        admin,
        pathSingleSlash(() -> concat(socket, notASocket)),
        path("ws", () -> pathEndOrSingleSlash(() -> concat(socket, notASocket))),
        pathEndOrSingleSlash(() -> concat(socket, notASocket)));
  }

  /**
   * A WebSocket upgrade: refused with 503 while the node drains, with 429 when the client's address holds its
   * maximum of sockets already; otherwise the socket is served.
   */
  private static Route accept(WebSocketUpgrade upgrade, ActorSystem<Void> system, GatewaySettings settings,
                              GatewayMetrics metrics, Identity identity, String codexHome, Sockets sockets,
                              WebSocketStack stack) {
    if (sockets.draining) {
      return complete(StatusCodes.SERVICE_UNAVAILABLE, "Legato is stopping; connect again to another node or later");
    }
    return extractRequest(request -> {
      InetAddress peer = request.getAttribute(AttributeKeys.remoteAddress)
          .flatMap(RemoteAddress::getAddress).orElse(InetAddress.getLoopbackAddress());
      AddressLimit.Place place = sockets.perAddress.take(peer);
      if (place == null) {
        return complete(StatusCodes.TOO_MANY_REQUESTS, "too many connections from " + peer.getHostAddress()
            + ": at most " + sockets.perAddress.max() + " (legato.gateway.max-connections-per-address)");
      }
      AtomicBoolean served = new AtomicBoolean();
      // An accepted upgrade whose socket never starts (the client went away first) gives its place back too.
      if (place.counted()) {
        system.scheduler().scheduleOnce(Duration.ofSeconds(30), () -> {
          if (!served.get()) {
            place.giveBack();
          }
        }, system.executionContext());
      }
      Outbox out = new Outbox(settings.outboundQueue(), settings.outboundQueueCharacters());
      return complete(stack.handle(upgrade, connection(system, settings, metrics, identity, codexHome, out,
          sockets, () -> {
            served.set(true);
            return place;
          }), out::closing));
    });
  }

  /**
   * One client: text messages in (each at most max-message-size) to its Connection, its output queued out.
   * Built when the socket's stream materializes, so that the outbox's queue is part of that stream: no
   * stream (and actor) of its own per socket, and no asynchronous boundary between the queue and the socket.
   */
  private static Flow<Message, Message, NotUsed> connection(ActorSystem<Void> system, GatewaySettings settings,
                                                             GatewayMetrics metrics, Identity identity,
                                                             String codexHome, Outbox out, Sockets sockets,
                                                             java.util.function.Supplier<AddressLimit.Place> serve) {
    return Flow.<Message, Message, NotUsed>fromMaterializer((materializer, attributes) -> {
      AddressLimit.Place place = serve.get();
      ActorRef<Connection.Command> connection = system.systemActorOf(
          Connection.create(identity, settings, metrics, VERSION, codexHome, out), "connection-" + UUID.randomUUID(),
          org.apache.pekko.actor.typed.Props.empty());
      Duration timeout = settings.askTimeout();
      Sink<Message, CompletionStage<Done>> in = Flow.<Message>create()
          .mapAsync(1, message -> text(message, settings.maxMessageSize(), materializer))
          .mapAsync(1, received -> AskPattern.<Connection.Command, Done>ask(connection,
              ack -> new Connection.Inbound(received.text(), received.refusal(), received.closeCode(), ack), timeout,
              system.scheduler()))
          .toMat(Sink.ignore(), org.apache.pekko.stream.javadsl.Keep.right());
      return Flow.fromSinkAndSourceCoupledMat(in, out.source(), (inDone, notUsed) -> {
        sockets.open.add(out);
        inDone.whenComplete((done, error) -> {
          sockets.open.remove(out);
          place.giveBack();
          connection.tell(new Connection.Closed());
        });
        return NotUsed.getInstance();
      });
    }).mapMaterializedValue(flow -> NotUsed.getInstance());
  }

  /** A client message as text, or why it is refused and the code the connection then closes with. */
  private record Received(String text, String refusal, int closeCode) {
    Received(String text) {
      this(text, null, 0);
    }
  }

  private static CompletionStage<Received> text(Message message, int limit, Materializer materializer) {
    if (!message.isText()) {
      message.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), materializer);
      return CompletableFuture.completedFuture(
          new Received(null, "Legato reads JSON-RPC in text messages only", UNSUPPORTED_DATA));
    }
    TextMessage text = message.asTextMessage();
    String tooLarge = "message too large: the limit is " + limit + " characters (legato.gateway.max-message-size)";
    if (text.isStrict()) {
      String strict = text.getStrictText();
      return CompletableFuture.completedFuture(strict.length() > limit ? new Received(null, tooLarge, TOO_BIG)
          : new Received(strict));
    }
    return text.getStreamedText().runFold(new StringBuilder(), (all, part) -> {
      if (all.length() <= limit) { // past the limit the rest is read and dropped
        all.append(part);
      }
      return all;
    }, materializer).thenApply(all -> all.length() > limit ? new Received(null, tooLarge, TOO_BIG)
        : new Received(all.toString()));
  }
}
