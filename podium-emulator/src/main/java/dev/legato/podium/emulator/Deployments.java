package dev.legato.podium.emulator;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The deployments an emulator knows, in registration order. Thread-safe. */
final class Deployments {
  private final List<Deployment> all = new ArrayList<>();

  /** The preloaded set; echo has three versions so that "latest" must be chosen by semantic version. */
  static Deployments preloaded(Instant now) {
    Deployments deployments = new Deployments();
    for (String[] typeAndVersion : new String[][] {
        {"echo", "1.0.0"}, {"echo", "1.2.0"}, {"echo", "1.10.0"},
        {"coder", "1.0.0"}, {"load", "1.0.0"}, {"claude-agent", "1.0.0"}}) {
      deployments.add(Deployment.preloaded(typeAndVersion[0], typeAndVersion[1], now));
    }
    return deployments;
  }

  /** Adds a deployment; false when that agent type and version is already registered. */
  synchronized boolean add(Deployment deployment) {
    boolean taken = all.stream().anyMatch(d ->
        d.agentType().equals(deployment.agentType()) && d.version().equals(deployment.version()));
    if (!taken) {
      all.add(deployment);
    }
    return !taken;
  }

  synchronized List<Deployment> list(Optional<String> agentType) {
    return all.stream().filter(d -> agentType.map(d.agentType()::equals).orElse(true)).toList();
  }

  /**
   * Finds a deployment by id. {@code <agent_type>:latest} resolves to the highest semantic
   * version, since the contract lets a client fall back to that spelling.
   */
  synchronized Optional<Deployment> find(String deploymentId) {
    if (deploymentId.endsWith(":latest")) {
      String agentType = deploymentId.substring(0, deploymentId.length() - ":latest".length());
      return all.stream()
          .filter(d -> d.agentType().equals(agentType))
          .max((a, b) -> SemanticVersion.compare(a.version(), b.version()));
    }
    return all.stream().filter(d -> d.deploymentId().equals(deploymentId)).findFirst();
  }
}
