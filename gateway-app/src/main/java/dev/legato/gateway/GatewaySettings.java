package dev.legato.gateway;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;

/** {@code legato.gateway}: where the gateway listens and the limits it holds every connection to. */
public record GatewaySettings(String host, int port, List<String> agentTypes, String defaultAgentType,
                              int maxMessageSize, double requestsPerSecond, int requestBurst, int outboundQueue,
                              long outboundQueueCharacters, Duration askTimeout, Duration drainTimeout,
                              Duration handshakeTimeout, int maxConnectionsPerAddress, boolean limitLoopback) {

  public static GatewaySettings from(Config config) {
    Config c = config.getConfig("legato.gateway");
    List<String> agentTypes = c.getStringList("agent-types");
    String defaultAgentType = c.getString("default-agent-type");
    if (!agentTypes.contains(defaultAgentType)) {
      agentTypes = new java.util.ArrayList<>(agentTypes);
      agentTypes.add(0, defaultAgentType);
    }
    if (c.getInt("max-connections-per-address") < 0) {
      throw new IllegalArgumentException("legato.gateway.max-connections-per-address must be 0 (no cap) or more");
    }
    if (c.getDuration("handshake-timeout").isNegative() || c.getDuration("handshake-timeout").isZero()) {
      throw new IllegalArgumentException("legato.gateway.handshake-timeout must be positive");
    }
    return new GatewaySettings(c.getString("host"), c.getInt("port"), List.copyOf(agentTypes), defaultAgentType,
        (int) Math.min(Integer.MAX_VALUE, c.getBytes("max-message-size")), c.getDouble("requests-per-second"),
        c.getInt("request-burst"), c.getInt("outbound-queue"), c.getBytes("outbound-queue-bytes"),
        c.getDuration("ask-timeout"), c.getDuration("drain-timeout"), c.getDuration("handshake-timeout"),
        c.getInt("max-connections-per-address"), c.getBoolean("limit-loopback"));
  }
}
