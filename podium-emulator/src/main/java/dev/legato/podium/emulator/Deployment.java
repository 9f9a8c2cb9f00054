package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

/**
 * A registered agent bundle. Its id follows the contract: {@code {agent_type}:{version}@{first 8
 * hex of sha256}}; {@code behaviour} names the scripted agent that runs it.
 */
record Deployment(
    String deploymentId, String agentType, String version, String checksum, Instant createdAt,
    AgentBehaviour behaviour) {

  /** A deployment whose checksum is the sha256 of the given bundle bytes. */
  static Deployment of(String agentType, String version, byte[] bundle, Instant createdAt) {
    String checksum = sha256(bundle);
    return new Deployment(
        agentType + ":" + version + "@" + checksum.substring(0, 8),
        agentType, version, checksum, createdAt, AgentBehaviour.forAgentType(agentType));
  }

  /** A preloaded deployment: no bundle, so the checksum is over "agent_type:version". */
  static Deployment preloaded(String agentType, String version, Instant createdAt) {
    return of(agentType, version, (agentType + ":" + version).getBytes(StandardCharsets.UTF_8), createdAt);
  }

  ObjectNode toJson() {
    ObjectNode node = Json.object();
    node.put("deployment_id", deploymentId);
    node.put("agent_type", agentType);
    node.put("version", version);
    node.put("checksum", checksum);
    node.put("created_at", createdAt.toString());
    return node;
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
