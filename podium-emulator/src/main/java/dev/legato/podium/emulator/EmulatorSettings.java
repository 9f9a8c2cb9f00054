package dev.legato.podium.emulator;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Everything an emulator is started with. The defaults suit a laptop and tests: loopback, a free
 * port, no authentication, dotted spelling, scale to zero after 5 idle minutes, no artificial delay.
 *
 * @param tenantKeys bearer keys accepted on every route; empty means open (no authentication)
 * @param adminKeys bearer keys accepted on admin routes (deploy, faults); when empty, admin routes
 *     are guarded like the others
 * @param idleTimeout how long an instance may sit without work before it scales to zero
 * @param streamDelay pause between streamed text deltas of the echo and coder agents
 */
public record EmulatorSettings(
    String host,
    int port,
    Set<String> tenantKeys,
    Set<String> adminKeys,
    Spelling spelling,
    Duration idleTimeout,
    Duration streamDelay) {

  public EmulatorSettings {
    Objects.requireNonNull(host, "host");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
    tenantKeys = Set.copyOf(tenantKeys);
    adminKeys = Set.copyOf(adminKeys);
    Objects.requireNonNull(spelling, "spelling");
    if (idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException("idle timeout must be positive: " + idleTimeout);
    }
    if (streamDelay.isNegative()) {
      throw new IllegalArgumentException("stream delay must not be negative: " + streamDelay);
    }
  }

  public static EmulatorSettings defaults() {
    return new EmulatorSettings(
        "127.0.0.1", 0, Set.of(), Set.of(), Spelling.DOTTED, Duration.ofMinutes(5), Duration.ZERO);
  }

  public EmulatorSettings withHost(String host) {
    return new EmulatorSettings(host, port, tenantKeys, adminKeys, spelling, idleTimeout, streamDelay);
  }

  public EmulatorSettings withPort(int port) {
    return new EmulatorSettings(host, port, tenantKeys, adminKeys, spelling, idleTimeout, streamDelay);
  }

  public EmulatorSettings withTenantKeys(Set<String> tenantKeys) {
    return new EmulatorSettings(host, port, tenantKeys, adminKeys, spelling, idleTimeout, streamDelay);
  }

  public EmulatorSettings withAdminKeys(Set<String> adminKeys) {
    return new EmulatorSettings(host, port, tenantKeys, adminKeys, spelling, idleTimeout, streamDelay);
  }

  public EmulatorSettings withSpelling(Spelling spelling) {
    return new EmulatorSettings(host, port, tenantKeys, adminKeys, spelling, idleTimeout, streamDelay);
  }

  public EmulatorSettings withIdleTimeout(Duration idleTimeout) {
    return new EmulatorSettings(host, port, tenantKeys, adminKeys, spelling, idleTimeout, streamDelay);
  }

  public EmulatorSettings withStreamDelay(Duration streamDelay) {
    return new EmulatorSettings(host, port, tenantKeys, adminKeys, spelling, idleTimeout, streamDelay);
  }
}
