package dev.legato.cluster;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The compose file's network on one machine: every service's host name is 127.0.0.1, every port a service
 * listens on (by service and container port) a free loopback port of its own, and each node's {@code /data}
 * volume a folder. {@link #environment} turns a service's environment into the one its process gets here; a
 * value naming a service in a way this does not know how to map fails the test, so that the compose file and the
 * tests cannot drift apart unnoticed.
 */
final class Loopback {
  private static final Pattern URL = Pattern.compile("^([a-z][a-z0-9+.-]*)://([A-Za-z0-9.-]+):(\\d+)(/.*)?$");
  private static final Pattern HOST_PORT = Pattern.compile("^([A-Za-z0-9.-]+):(\\d+)$");

  private final Set<String> services;
  private final Path volumes;
  private final Map<String, Integer> ports = new HashMap<>();

  Loopback(Set<String> services, Path volumes) {
    this.services = services;
    this.volumes = volumes;
  }

  /** The loopback port standing for {@code service}'s container port {@code port}: the same one each time. */
  synchronized int port(String service, int port) {
    Integer known = ports.get(service + ":" + port);
    if (known != null) {
      return known;
    }
    int free = freePort();
    while (ports.containsValue(free)) { // a port released once may come back: each stands for one service's only
      free = freePort();
    }
    ports.put(service + ":" + port, free);
    return free;
  }

  /** The folder standing for a service's volume (the same one across restarts of the service). */
  Path volume(String service) {
    return volumes.resolve(service);
  }

  /** A service's environment as its process on this machine gets it. */
  Map<String, String> environment(Compose.Service service) {
    Map<String, String> mapped = new LinkedHashMap<>();
    service.environment().forEach((key, value) -> mapped.put(key, map(service.name(), key, value)));
    return mapped;
  }

  private String map(String service, String key, String value) {
    if (key.equals("LEGATO_DATA_DIR")) {
      return volume(service).toString();
    }
    Matcher url = URL.matcher(value);
    if (url.matches() && services.contains(url.group(2))) {
      return url.group(1) + "://127.0.0.1:" + port(url.group(2), Integer.parseInt(url.group(3)))
          + (url.group(4) == null ? "" : url.group(4));
    }
    if (key.equals("LEGATO_SEED_NODES")) {
      List<String> seeds = new ArrayList<>();
      for (String seed : value.split(",")) {
        Matcher hostPort = HOST_PORT.matcher(seed.trim());
        if (!hostPort.matches() || !services.contains(hostPort.group(1))) {
          throw new IllegalArgumentException("seed node '" + seed + "' of " + service + " is not <service>:<port>");
        }
        seeds.add("127.0.0.1:" + port(hostPort.group(1), Integer.parseInt(hostPort.group(2))));
      }
      return String.join(",", seeds);
    }
    if (key.endsWith("_HOST") && (services.contains(value) || value.equals("0.0.0.0"))) {
      return "127.0.0.1"; // on loopback only, whatever a container binds
    }
    if (key.endsWith("_PORT") && value.matches("\\d+")) {
      return String.valueOf(port(service, Integer.parseInt(value)));
    }
    for (String other : services) {
      if (value.equals(other) || value.contains("//" + other) || value.contains(other + ":")) {
        throw new IllegalArgumentException(service + "'s " + key + "=" + value + " names service " + other
            + " in a way the tests do not map to loopback: teach Loopback about it");
      }
    }
    return value;
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException("no free loopback port", e);
    }
  }
}
