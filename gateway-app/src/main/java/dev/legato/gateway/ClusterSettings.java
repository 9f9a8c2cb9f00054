package dev.legato.gateway;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The cluster a node joins: {@code legato.cluster.seed-nodes} ({@code --seed-node}, {@code LEGATO_SEED_NODES}) as
 * Pekko's seed addresses. Operators name seeds as {@code host:port} (their cluster ports); Pekko wants
 * {@code pekko://legato@host:port}. Without seeds a node is a cluster of its own; with them, it needs what all
 * nodes share.
 */
final class ClusterSettings {
  /** The actor system's name: part of every node's address. */
  static final String SYSTEM = "legato";
  private static final Pattern HOST_PORT = Pattern.compile("[A-Za-z0-9.\\-]+:\\d{1,5}|\\[[0-9A-Fa-f:.]+\\]:\\d{1,5}");

  private ClusterSettings() {}

  /**
   * The seed addresses {@code legato.cluster.seed-nodes} names: a list, or one comma-separated string (how an
   * environment variable gives it); each {@code host:port} or a whole {@code pekko://legato@host:port}.
   *
   * @throws IllegalArgumentException for an entry that is neither
   */
  static List<String> addresses(Config config) {
    if (!config.hasPath("legato.cluster.seed-nodes")) {
      return List.of();
    }
    List<String> entries = config.getValue("legato.cluster.seed-nodes").valueType() == ConfigValueType.LIST
        ? config.getStringList("legato.cluster.seed-nodes")
        : Arrays.asList(config.getString("legato.cluster.seed-nodes").split(","));
    List<String> addresses = new ArrayList<>();
    for (String entry : entries) {
      String seed = entry.trim();
      if (seed.isEmpty()) {
        continue;
      }
      if (seed.startsWith("pekko://")) {
        if (!seed.startsWith("pekko://" + SYSTEM + "@") || !HOST_PORT.matcher(seed.substring(("pekko://" + SYSTEM + "@").length())).matches()) {
          throw new IllegalArgumentException("seed node '" + seed + "': a Legato node's address is pekko://" + SYSTEM + "@<host>:<port>");
        }
        addresses.add(seed);
      } else if (HOST_PORT.matcher(seed).matches()) {
        addresses.add("pekko://" + SYSTEM + "@" + seed);
      } else {
        throw new IllegalArgumentException("seed node '" + seed + "' is not <host>:<cluster port> (e.g. legato1:25520)");
      }
    }
    return List.copyOf(addresses);
  }

  /**
   * {@code config} with Pekko's {@code pekko.cluster.seed-nodes} set from {@code legato.cluster.seed-nodes}, when
   * that names any (a seed list set on Pekko's own key stays as it is otherwise).
   */
  static Config apply(Config config) {
    List<String> addresses = addresses(config);
    if (addresses.isEmpty()) {
      return config;
    }
    return ConfigFactory.parseMap(Map.of("pekko.cluster.seed-nodes", addresses)).withFallback(config);
  }

  /** Whether this configuration joins other nodes (rather than forming a cluster of its own). */
  static boolean clustered(Config config) {
    return !addresses(config).isEmpty()
        || (config.hasPath("pekko.cluster.seed-nodes") && !config.getStringList("pekko.cluster.seed-nodes").isEmpty());
  }

  /**
   * A thread that moves to another node starts there from its replica: the nodes of a cluster must share it
   * (S3, or one folder all of them see). Refused otherwise, before anything starts.
   */
  static void requireSharedReplicas(Config config) {
    Config replica = config.getConfig("legato.storage.replica");
    if (replica.getString("mode").equalsIgnoreCase("off")) {
      throw new IllegalArgumentException("a node of a cluster needs replicas (legato.storage.replica.mode is off):"
          + " a thread that moves to another node is restored there from its replica; use --replicas async or sync");
    }
    boolean s3 = !replica.getIsNull("s3.bucket") && !replica.getString("s3.bucket").isBlank();
    boolean folder = !replica.getIsNull("folder") && !replica.getString("folder").isBlank();
    if (!s3 && !folder) {
      throw new IllegalArgumentException("a node of a cluster needs replicas that every node shares: an S3 bucket"
          + " (--s3-bucket, LEGATO_S3_BUCKET) or one folder all nodes see (LEGATO_REPLICA_FOLDER); with the default"
          + " <data>/replicas a thread that moves to another node would start there empty");
    }
  }
}
