package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The fault switches of an emulator, for tests that prove Legato survives a misbehaving Podium.
 * Per-instance switches return false when the instance is unknown (or, for socket faults, has no
 * open socket). REST faults apply to {@code /api/...} calls only, never to health, admin or the
 * WebSocket upgrade. Failing a share of calls is deterministic: with share 0.5 every second call
 * fails, not a random half.
 */
public final class Faults {
  private final Function<String, Optional<Instance>> instances;
  private final Supplier<Collection<Instance>> allInstances;
  private double failShare;
  private double failCredit;
  private Duration restLatency = Duration.ZERO;
  private Duration socketLatency = Duration.ZERO;

  Faults(Function<String, Optional<Instance>> instances, Supplier<Collection<Instance>> allInstances) {
    this.instances = instances;
    this.allInstances = allInstances;
  }

  /** Drops the instance's WebSocket now, as a network failure would; the instance lives on. */
  public boolean dropSocket(String instanceId) {
    return socket(instanceId).map(socket -> {
      socket.drop();
      return true;
    }).orElse(false);
  }

  /** Kills the instance: status terminated, socket closed, further connects refused (404). */
  public boolean killInstance(String instanceId) {
    return instances.apply(instanceId).map(instance -> {
      instance.terminate("killed by a fault switch");
      return true;
    }).orElse(false);
  }

  /** Answers this share (0.0–1.0) of REST calls with 503. */
  public synchronized void failRestCalls(double share) {
    if (!(share >= 0.0 && share <= 1.0)) {
      throw new IllegalArgumentException("share must be within 0.0..1.0: " + share);
    }
    failShare = share;
    failCredit = 0.0;
  }

  /** Delays every REST call by this much before it is handled. */
  public synchronized void restLatency(Duration latency) {
    if (latency.isNegative()) {
      throw new IllegalArgumentException("latency must not be negative: " + latency);
    }
    restLatency = latency;
  }

  /**
   * Delays every WebSocket upgrade by this much before it is answered, as an overloaded Podium (or
   * network) would: the client's connection attempt is in flight that long.
   */
  public synchronized void socketLatency(Duration latency) {
    if (latency.isNegative()) {
      throw new IllegalArgumentException("latency must not be negative: " + latency);
    }
    socketLatency = latency;
  }

  public synchronized Duration socketLatency() {
    return socketLatency;
  }

  /** Sends a frame that is not valid JSON on the instance's socket. */
  public boolean sendMalformedFrame(String instanceId) {
    return send(instanceId, new OutboundFrame.Raw("{\"type\":\"update\",\"messageType\":\"text_delta\",\"content\":{"));
  }

  /** Sends a well-formed event of a kind no contract lists ({@code emulator.unknown_kind}). */
  public boolean sendUnknownKindFrame(String instanceId) {
    return send(instanceId, new OutboundFrame.Event("emulator.unknown_kind",
        Json.object().put("note", "a kind the adapter does not know; it must log it and go on")));
  }

  /** Holds back every frame of the instance's socket for this long; frames then follow in order. */
  public boolean stall(String instanceId, Duration duration) {
    return instances.apply(instanceId).map(instance -> {
      instance.stall(duration);
      return true;
    }).orElse(false);
  }

  /** Turns every switch off: no failing share, no latency, no stalls. Killed instances stay dead. */
  public void reset() {
    synchronized (this) {
      failShare = 0.0;
      failCredit = 0.0;
      restLatency = Duration.ZERO;
      socketLatency = Duration.ZERO;
    }
    allInstances.get().forEach(Instance::unstall);
  }

  public synchronized double failShare() {
    return failShare;
  }

  public synchronized Duration restLatency() {
    return restLatency;
  }

  /** Whether this REST call must fail; the credit makes the share exact and repeatable. */
  synchronized boolean failNextCall() {
    if (failShare <= 0.0) {
      return false;
    }
    failCredit += failShare;
    if (failCredit >= 1.0 - 1e-9) {
      failCredit -= 1.0;
      return true;
    }
    return false;
  }

  private boolean send(String instanceId, OutboundFrame frame) {
    return socket(instanceId).map(socket -> {
      socket.send(List.of(frame));
      return true;
    }).orElse(false);
  }

  private Optional<AgentSocket> socket(String instanceId) {
    return instances.apply(instanceId).map(Instance::socket);
  }

  synchronized ObjectNode toJson() {
    return Json.object().put("fail_share", failShare).put("rest_latency_ms", restLatency.toMillis())
        .put("socket_latency_ms", socketLatency.toMillis());
  }
}
