package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One spawned agent: its deployment and config, its lifecycle status, and the one socket it
 * streams on. Initializing for a few milliseconds, then ready; running while a turn is in
 * progress; terminated when idle too long, killed by a fault, or deleted (then it is also gone
 * from the instance table). All state changes are synchronized on the instance.
 */
final class Instance {
  /** How long a new instance stays "initializing", like an agent process starting. */
  static final Duration STARTUP = Duration.ofMillis(20);

  private static final Logger LOG = LoggerFactory.getLogger(Instance.class);

  private final String id;
  private final String agentId;
  private final Deployment deployment;
  private final ObjectNode config;
  private final Instant createdAt;
  private final long readyAtNanos;
  private boolean terminated;
  private int runningTurns;
  private long lastActivityNanos;
  private long stalledUntilNanos;
  private int turnsCreated;
  private AgentSocket socket;
  private final AtomicLong framesWritten = new AtomicLong();
  /** What the client sent, in order: each frame's type, and the message it names when it names one. */
  private final java.util.concurrent.ConcurrentLinkedQueue<String> framesReceived =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  Instance(String id, String agentId, Deployment deployment, ObjectNode config, Instant createdAt) {
    this.id = id;
    this.agentId = agentId;
    this.deployment = deployment;
    this.config = config;
    this.createdAt = createdAt;
    this.readyAtNanos = System.nanoTime() + STARTUP.toNanos();
    this.lastActivityNanos = System.nanoTime();
  }

  String id() {
    return id;
  }

  void frameReceived(String description) {
    framesReceived.add(description);
  }

  java.util.List<String> framesReceived() {
    return java.util.List.copyOf(framesReceived);
  }

  String agentId() {
    return agentId;
  }

  Deployment deployment() {
    return deployment;
  }

  ObjectNode config() {
    return config;
  }

  synchronized InstanceStatus status() {
    if (terminated) {
      return InstanceStatus.TERMINATED;
    }
    if (runningTurns > 0) {
      return InstanceStatus.RUNNING;
    }
    return System.nanoTime() < readyAtNanos ? InstanceStatus.INITIALIZING : InstanceStatus.READY;
  }

  synchronized ObjectNode toJson() {
    ObjectNode node = Json.object();
    node.put("instance_id", id);
    node.put("agent_id", agentId);
    node.put("deployment_id", deployment.deploymentId());
    node.put("status", status().wireName());
    node.set("config", config.deepCopy());
    node.put("created_at", createdAt.toString());
    return node;
  }

  /** Work arrived or finished: the idle clock starts again. Pings are not work. */
  synchronized void touch() {
    lastActivityNanos = System.nanoTime();
  }

  synchronized void turnStarted() {
    runningTurns++;
    lastActivityNanos = System.nanoTime();
  }

  synchronized void turnEnded() {
    runningTurns = Math.max(0, runningTurns - 1);
    lastActivityNanos = System.nanoTime();
  }

  /** Numbers turns in arrival order; ids the agents make embed it, so they are deterministic. */
  synchronized int nextTurnNumber() {
    return ++turnsCreated;
  }

  /** The outcome of attaching a socket: refused (terminated instance), or the socket it replaced. */
  record Attachment(boolean accepted, AgentSocket replaced) {}

  /** Makes {@code next} the instance's socket; the caller closes the one it replaces. */
  synchronized Attachment attach(AgentSocket next) {
    if (terminated) {
      return new Attachment(false, null);
    }
    AgentSocket replaced = socket;
    socket = next;
    lastActivityNanos = System.nanoTime();
    return new Attachment(true, replaced);
  }

  synchronized void detach(AgentSocket closed) {
    if (socket == closed) {
      socket = null;
    }
  }

  synchronized AgentSocket socket() {
    return socket;
  }

  /** Terminates the instance and closes its socket; false when it already was terminated. */
  boolean terminate(String reason) {
    AgentSocket open;
    synchronized (this) {
      if (terminated) {
        return false;
      }
      terminated = true;
      open = socket;
      socket = null;
    }
    LOG.info("instance {} terminated: {}", id, reason);
    if (open != null) {
      open.close();
    }
    return true;
  }

  /** Scales to zero when no turn runs and nothing happened for {@code idle}. */
  boolean terminateIfIdle(Duration idle) {
    synchronized (this) {
      if (terminated || runningTurns > 0 || System.nanoTime() - lastActivityNanos < idle.toNanos()) {
        return false;
      }
    }
    return terminate("idle for " + idle.toMillis() + " ms (scaled to zero)");
  }

  /** Counts a frame handed to the network; lets tests see that output follows the reader. */
  void frameWritten() {
    framesWritten.incrementAndGet();
  }

  long framesWritten() {
    return framesWritten.get();
  }

  synchronized void stall(Duration duration) {
    stalledUntilNanos = System.nanoTime() + duration.toNanos();
  }

  synchronized void unstall() {
    stalledUntilNanos = 0;
  }

  /**
   * Lets a frame through now, or when the stall fault ends. Frames keep their order because the
   * socket passes them through this one at a time.
   */
  CompletionStage<OutboundFrame> gate(OutboundFrame frame) {
    long waitNanos;
    synchronized (this) {
      waitNanos = stalledUntilNanos - System.nanoTime();
    }
    if (waitNanos <= 0) {
      return CompletableFuture.completedFuture(frame);
    }
    return CompletableFuture.supplyAsync(() -> frame,
        CompletableFuture.delayedExecutor(waitNanos, TimeUnit.NANOSECONDS));
  }
}
