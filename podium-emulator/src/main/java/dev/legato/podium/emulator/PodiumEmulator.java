package dev.legato.podium.emulator;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;

/**
 * A running Podium emulator: the REST API and native WebSocket of the Podium contract, served on
 * one port, with deterministic scripted agents (echo, coder, load) and fault switches. Start it
 * with {@link #start(EmulatorSettings)}; it is what Legato talks to when no Podium URL is set, and
 * the Podium of every test above the adapter.
 */
public final class PodiumEmulator implements AutoCloseable {
  private static final Duration BIND_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  private final ActorSystem<?> system;
  private final boolean ownsSystem;
  private final EmulatorSettings settings;
  private final InstanceTable instances;
  private final Faults faults;
  private final ServerBinding binding;
  private final Cancellable idleSweep;
  private final AtomicBoolean stopped = new AtomicBoolean();

  private PodiumEmulator(ActorSystem<?> system, boolean ownsSystem, EmulatorSettings settings) {
    this.system = system;
    this.ownsSystem = ownsSystem;
    this.settings = settings;
    this.instances = new InstanceTable();
    this.faults = new Faults(instances::find, instances::all);
    Materializer materializer = Materializer.matFromSystem(system);
    PodiumGateway gateway = new PodiumGateway(
        settings, Deployments.preloaded(Instant.now()), instances, faults, materializer);
    this.binding = await(Http.get(system)
        .newServerAt(settings.host(), settings.port())
        .withSettings(ServerSettings.create(serverConfig(system.settings().config())))
        .bind(gateway::handle)
        .toCompletableFuture(), BIND_TIMEOUT, "bind " + settings.host() + ":" + settings.port());
    // check often enough that a short idle timeout (tests) is honoured within ~10% of it
    Duration every = clamp(settings.idleTimeout().dividedBy(10), Duration.ofMillis(10), Duration.ofSeconds(1));
    this.idleSweep = system.scheduler().scheduleAtFixedRate(every, every,
        () -> instances.scaleIdleToZero(settings.idleTimeout()), system.executionContext());
  }

  /** Starts an emulator on an ActorSystem of its own, which {@link #stop()} terminates. Blocks until bound. */
  public static PodiumEmulator start(EmulatorSettings settings) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "podium-emulator", ownConfig());
    try {
      return new PodiumEmulator(system, true, settings);
    } catch (RuntimeException e) {
      system.terminate();
      throw e;
    }
  }

  /** Starts an emulator on the given ActorSystem, which stays up after {@link #stop()}. Blocks until bound. */
  public static PodiumEmulator start(ActorSystem<?> system, EmulatorSettings settings) {
    return new PodiumEmulator(system, false, settings);
  }

  /** Where it listens, e.g. {@code http://127.0.0.1:41234}; the WebSocket is at {@code ws://…/agent/{id}}. */
  public String baseUrl() {
    String host = binding.localAddress().getHostString();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return "http://" + host + ":" + binding.localAddress().getPort();
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public EmulatorSettings settings() {
    return settings;
  }

  public Faults faults() {
    return faults;
  }

  /** A snapshot: instance id → status ({@code initializing}, {@code ready}, {@code running}, {@code terminated}). */
  public Map<String, String> instances() {
    return Collections.unmodifiableMap(instances.statuses());
  }

  /**
   * The frames the client sent to an instance, in order, over all its sockets: each frame's type, followed by
   * the message it names when it names one ({@code "interrupt msg_…"}); empty when the instance is unknown.
   */
  public java.util.List<String> framesReceived(String instanceId) {
    return instances.find(instanceId).map(Instance::framesReceived).orElse(java.util.List.of());
  }

  /** Frames written to an instance's sockets so far (for tests of flow control); 0 when unknown. */
  long framesWritten(String instanceId) {
    return instances.find(instanceId).map(Instance::framesWritten).orElse(0L);
  }

  /** Unbinds, closes every socket, and terminates its own ActorSystem. Safe to call twice. */
  public void stop() {
    if (!stopped.compareAndSet(false, true)) {
      return;
    }
    idleSweep.cancel();
    instances.terminateAll();
    try {
      binding.terminate(Duration.ofSeconds(2)).toCompletableFuture().get(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      system.log().warn("Podium emulator: unbinding did not finish cleanly: {}", e.toString());
    }
    if (ownsSystem) {
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException e) {
        // the system is going down anyway; nothing left to release here
      }
    }
  }

  @Override
  public void close() {
    stop();
  }

  /**
   * A local system from the libraries' reference configuration only: a host application's
   * application.conf (cluster provider, remoting port, extensions) must not leak into the
   * emulator it embeds. Logging goes through SLF4J.
   */
  private static Config ownConfig() {
    return ConfigFactory.parseString("""
        pekko.actor.provider = local
        pekko.loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
        pekko.logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
        pekko.loglevel = INFO
        pekko.stdout-loglevel = WARNING
        pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
        """).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  /**
   * An agent socket may sit silent between turns far longer than Pekko's 60 s connection idle
   * timeout; keep-alive pings keep it open, as Podium's own heartbeats would.
   */
  private static Config serverConfig(Config base) {
    return ConfigFactory.parseString("""
        pekko.http.server.websocket.periodic-keep-alive-max-idle = 15s
        """).withFallback(base);
  }

  private static Duration clamp(Duration value, Duration min, Duration max) {
    return value.compareTo(min) < 0 ? min : value.compareTo(max) > 0 ? max : value;
  }

  private static <T> T await(java.util.concurrent.CompletableFuture<T> future, Duration timeout, String what) {
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + what, e);
    } catch (ExecutionException | CompletionException e) {
      throw new IllegalStateException("could not " + what + ": " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("timed out: " + what, e);
    }
  }
}
