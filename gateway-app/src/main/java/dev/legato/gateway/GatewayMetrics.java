package dev.legato.gateway;

import dev.legato.thread.ThreadMeters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's metrics in Prometheus' text format ({@code GET /metrics}): connections and requests from the
 * gateway, threads by phase, links by state, turns, deltas and persistence latency from
 * {@link ThreadMeters}, and the JVM's own.
 */
public final class GatewayMetrics {
  /** Methods counted by name; anything else is counted as "other" (clients may send anything). */
  private static final Set<String> KNOWN_METHODS = Set.of("initialize", "account/read", "config/read",
      "configRequirements/read", "model/list", "thread/start", "thread/resume", "thread/read", "thread/list",
      "thread/archive", "thread/unarchive", "thread/delete", "thread/name/set", "thread/unsubscribe", "turn/start",
      "turn/steer", "turn/interrupt", "item/approve", "item/answer");

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final AtomicInteger connections = new AtomicInteger();
  private final Counter opened;
  private final Counter slowClients;
  private final ConcurrentHashMap<String, Counter> requests = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Integer, Counter> errors = new ConcurrentHashMap<>();

  GatewayMetrics(ThreadMeters threads) {
    Gauge.builder("legato.connections", connections, AtomicInteger::get)
        .description("open client WebSockets").register(registry);
    opened = Counter.builder("legato.connections.opened").description("client WebSockets accepted").register(registry);
    slowClients = Counter.builder("legato.connections.slow")
        .description("clients disconnected because they did not read fast enough").register(registry);
    for (String phase : ThreadMeters.PHASES) {
      Gauge.builder("legato.threads", threads, t -> t.threads(phase)).tag("phase", phase)
          .description("live threads on this node by phase").register(registry);
    }
    for (String state : ThreadMeters.LINK_STATES) {
      Gauge.builder("legato.podium.links", threads, t -> t.links(state)).tag("state", state)
          .description("live threads by the state of their Podium link").register(registry);
    }
    FunctionCounter.builder("legato.podium.link.losses", threads, ThreadMeters::linkLosses)
        .description("Podium links lost (instance gone or reconnecting gave up)").register(registry);
    FunctionCounter.builder("legato.turns.prompts.resent", threads, ThreadMeters::promptsResent)
        .description("prompts sent to a new agent because the first was gone before it answered").register(registry);
    FunctionCounter.builder("legato.turns.started", threads, ThreadMeters::turnsStarted).register(registry);
    for (String outcome : ThreadMeters.OUTCOMES) {
      FunctionCounter.builder("legato.turns.ended", threads, t -> t.turnsEnded(outcome)).tag("outcome", outcome)
          .register(registry);
    }
    FunctionCounter.builder("legato.deltas", threads, ThreadMeters::deltas)
        .description("text deltas streamed by agents (rate() gives deltas/s)").register(registry);
    FunctionCounter.builder("legato.persist.count", threads, ThreadMeters::persists)
        .description("journal writes of agent events").register(registry);
    FunctionCounter.builder("legato.persist.seconds", threads, ThreadMeters::persistSeconds)
        .description("time spent waiting for journal writes (with .count: mean latency)").register(registry);
    Gauge.builder("legato.persist.seconds.max", threads, ThreadMeters::takeMaxPersistSeconds)
        .description("the slowest journal write since the previous scrape").register(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
  }

  /** Replication's figures: what it shipped and failed, restores, the backlog and the lag (p50/p99 of recent uploads). */
  void replication(dev.legato.storage.replica.Replication replication) {
    FunctionCounter.builder("legato.replica.bytes", replication, r -> r.figures().bytesShipped())
        .description("compressed bytes stored in the replica target").register(registry);
    FunctionCounter.builder("legato.replica.requests", replication, r -> r.figures().objectsShipped())
        .description("objects stored in the replica target (snapshots, WAL segments, marks)").register(registry);
    FunctionCounter.builder("legato.replica.failures", replication, r -> r.figures().failures())
        .description("uploads that failed (each is tried again until it succeeds)").register(registry);
    FunctionCounter.builder("legato.replica.restores", replication, r -> r.figures().restores())
        .description("database files restored from their replica before use").register(registry);
    Gauge.builder("legato.replica.backlog.bytes", replication, r -> r.figures().backlogBytes())
        .description("captured bytes waiting for the target").register(registry);
    Gauge.builder("legato.replica.lag.seconds", replication, r -> r.figures().lagP50Millis() / 1000.0).tag("quantile", "0.5")
        .description("commit-to-stored time of recent uploads").register(registry);
    Gauge.builder("legato.replica.lag.seconds", replication, r -> r.figures().lagP99Millis() / 1000.0).tag("quantile", "0.99")
        .description("commit-to-stored time of recent uploads").register(registry);
  }

  void connectionOpened() {
    connections.incrementAndGet();
    opened.increment();
  }

  void connectionClosed() {
    connections.decrementAndGet();
  }

  void slowClient() {
    slowClients.increment();
  }

  void request(String method) {
    String name = KNOWN_METHODS.contains(method) ? method : "other";
    requests.computeIfAbsent(name, m -> Counter.builder("legato.requests").tag("method", m)
        .description("JSON-RPC requests from clients").register(registry)).increment();
  }

  void error(int code) {
    errors.computeIfAbsent(code, c -> Counter.builder("legato.request.errors").tag("code", String.valueOf(c))
        .description("JSON-RPC error responses").register(registry)).increment();
  }

  public String scrape() {
    return registry.scrape();
  }
}
