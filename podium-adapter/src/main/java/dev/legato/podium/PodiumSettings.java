package dev.legato.podium;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** The {@code legato.podium} configuration (documented in reference.conf). */
public record PodiumSettings(
    Optional<String> url,
    Optional<String> apiKey,
    Duration requestTimeout,
    int maxConnections,
    int maxOpenRequests,
    int retryAttempts,
    Duration retryMinBackoff,
    Duration retryMaxBackoff,
    double retryRandomFactor,
    int breakerMaxFailures,
    Duration breakerResetTimeout,
    Map<String, String> staticDeployments,
    Duration deploymentCacheTtl,
    Duration keepAlive,
    int maxFrameSize,
    int outgoingBuffer,
    int readAhead,
    Duration reconnectMinBackoff,
    Duration reconnectMaxBackoff,
    double reconnectRandomFactor,
    int reconnectMaxAttempts) {

  public static PodiumSettings from(Config root) {
    Config c = root.getConfig("legato.podium");
    Map<String, String> deployments = new TreeMap<>();
    for (Map.Entry<String, ConfigValue> entry : c.getObject("deployments").entrySet()) {
      deployments.put(entry.getKey(), String.valueOf(entry.getValue().unwrapped()));
    }
    return new PodiumSettings(
        optional(c, "url").map(u -> u.endsWith("/") ? u.substring(0, u.length() - 1) : u),
        optional(c, "api-key"),
        c.getDuration("request-timeout"),
        c.getInt("max-connections"),
        c.getInt("max-open-requests"),
        c.getInt("retry.attempts"),
        c.getDuration("retry.min-backoff"),
        c.getDuration("retry.max-backoff"),
        c.getDouble("retry.random-factor"),
        c.getInt("circuit-breaker.max-failures"),
        c.getDuration("circuit-breaker.reset-timeout"),
        Map.copyOf(deployments),
        c.getDuration("deployment-cache-ttl"),
        c.getDuration("link.keep-alive"),
        (int) Math.min(Integer.MAX_VALUE, c.getBytes("link.max-frame-size")),
        c.getInt("link.outgoing-buffer"),
        c.getInt("link.read-ahead"),
        c.getDuration("link.reconnect.min-backoff"),
        c.getDuration("link.reconnect.max-backoff"),
        c.getDouble("link.reconnect.random-factor"),
        c.getInt("link.reconnect.max-attempts"));
  }

  /** The same settings pointing at {@code baseUrl} (e.g. an emulator started in-process). */
  public PodiumSettings withUrl(String baseUrl) {
    return new PodiumSettings(Optional.of(baseUrl), apiKey, requestTimeout, maxConnections, maxOpenRequests, retryAttempts, retryMinBackoff,
        retryMaxBackoff, retryRandomFactor, breakerMaxFailures, breakerResetTimeout, staticDeployments,
        deploymentCacheTtl, keepAlive, maxFrameSize, outgoingBuffer, readAhead, reconnectMinBackoff, reconnectMaxBackoff,
        reconnectRandomFactor, reconnectMaxAttempts);
  }

  /** The same settings with this tenant key (null for none). */
  public PodiumSettings withApiKey(String key) {
    return new PodiumSettings(url, Optional.ofNullable(key), requestTimeout, maxConnections, maxOpenRequests, retryAttempts, retryMinBackoff,
        retryMaxBackoff, retryRandomFactor, breakerMaxFailures, breakerResetTimeout, staticDeployments,
        deploymentCacheTtl, keepAlive, maxFrameSize, outgoingBuffer, readAhead, reconnectMinBackoff, reconnectMaxBackoff,
        reconnectRandomFactor, reconnectMaxAttempts);
  }

  public String baseUrl() {
    return url.orElseThrow(() -> new IllegalStateException("legato.podium.url is not set"));
  }

  private static Optional<String> optional(Config c, String key) {
    return c.getIsNull(key) ? Optional.empty() : Optional.of(c.getString(key)).filter(s -> !s.isBlank());
  }
}
