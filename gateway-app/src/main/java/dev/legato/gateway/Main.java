package dev.legato.gateway;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * {@code ./legato run}: starts a Legato node. Without a Podium URL ({@code --podium-url},
 * {@code LEGATO_PODIUM_URL} or {@code legato.podium.url}) it starts the Podium emulator in-process on
 * loopback and uses it; a node of a cluster ({@code --seed-node}) refuses to start without one, since every
 * node must reach the same Podium. Prints where to connect; exits when the node stops, with 1 when the
 * cluster removed it.
 */
public final class Main {
  static final String USAGE = """
      usage: ./legato run [--host H] [--port N] [--data DIR] [--podium-url URL] [--management-port N]
                          [--replicas off|async|sync] [--s3-url URL] [--s3-bucket B] [--s3-prefix P]
                          [--cluster-port N --seed-node HOST:PORT [--seed-node HOST:PORT ...] [--cluster-host H]]
        --host        address to listen on (default 127.0.0.1; LEGATO_HOST)
        --port        port for WebSocket and HTTP (default 8080, 0 picks a free one; LEGATO_PORT)
        --data        data directory: sessions/<thread>/session.db ... (default ./data; LEGATO_DATA_DIR)
        --podium-url  Podium's base URL (LEGATO_PODIUM_URL); without one an emulated Podium runs in-process
        --management-port  Pekko Management's /alive and /ready (default 8558; LEGATO_MANAGEMENT_PORT)
        --replicas    replication of every database file (default async; LEGATO_REPLICA_MODE): async ships
                      within a second of each commit, sync acknowledges a write once it is in the replica
        --s3-bucket   replicate to this S3 bucket (LEGATO_S3_BUCKET); without one, replicas go to
                      <data>/replicas in the same layout (Litestream's file replica type)
        --s3-url      S3 endpoint, e.g. http://127.0.0.1:9000 (LEGATO_S3_URL; default: AWS for the region)
        --s3-prefix   key prefix inside the bucket (LEGATO_S3_PREFIX); credentials: LEGATO_S3_ACCESS_KEY_ID
                      and LEGATO_S3_SECRET_ACCESS_KEY, or the AWS SDK's default chain
        --cluster-port  port the other nodes of a cluster reach this one on (LEGATO_CLUSTER_PORT; default: a free
                      one, which only a node of its own can use)
        --cluster-host  name or address the other nodes reach this one at (default 127.0.0.1; LEGATO_CLUSTER_HOST)
        --seed-node   HOST:PORT (cluster port) of a node to join; repeat for each, give every node the same list
                      (LEGATO_SEED_NODES, comma-separated). Without one, the node is a cluster of its own. A node
                      of a cluster needs the Podium all nodes share (--podium-url; ./legato emulator runs one)
                      and shared replicas (--s3-bucket, or LEGATO_REPLICA_FOLDER on a folder all nodes see)
      Every other setting: -D<key>=<value> or application.conf (see gateway-app/README.md; the repository's
      application.conf lists what a cluster's operator sets: java -Dconfig.file=application.conf ...).
      """;

  private static final String COMMON_POOL = "java.util.concurrent.ForkJoinPool.common.parallelism";

  private Main() {}

  public static void main(String[] args) throws Exception {
    // With one core's worth of common pool (2 cores), CompletableFuture's async stages, which the
    // CompletionStages of Pekko's asks use even for thenApply, get a new thread each: about eight per
    // thread/start. A common pool of two or more runs them instead. Before anything touches the pool.
    if (System.getProperty(COMMON_POOL) == null && Runtime.getRuntime().availableProcessors() <= 2) {
      System.setProperty(COMMON_POOL, "2");
    }
    Map<String, Object> overrides = new HashMap<>();
    List<String> seeds = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--help") || arg.equals("-h")) {
        System.out.print(USAGE);
        return;
      }
      if (i + 1 >= args.length) {
        fail("missing value for " + arg);
      }
      String value = args[++i];
      switch (arg) {
        case "--host" -> overrides.put("legato.gateway.host", value);
        case "--port" -> overrides.put("legato.gateway.port", value);
        case "--data" -> overrides.put("legato.storage.data-dir", Path.of(value).toAbsolutePath().toString());
        case "--podium-url" -> overrides.put("legato.podium.url", value);
        case "--management-port" -> overrides.put("pekko.management.http.port", value);
        case "--replicas" -> overrides.put("legato.storage.replica.mode", value);
        case "--s3-url" -> overrides.put("legato.storage.replica.s3.url", value);
        case "--s3-bucket" -> overrides.put("legato.storage.replica.s3.bucket", value);
        case "--s3-prefix" -> overrides.put("legato.storage.replica.s3.prefix", value);
        case "--cluster-port" -> overrides.put("pekko.remote.artery.canonical.port", value);
        case "--cluster-host" -> overrides.put("pekko.remote.artery.canonical.hostname", value);
        case "--seed-node" -> seeds.add(value);
        default -> fail("unknown option " + arg);
      }
    }
    if (!seeds.isEmpty()) {
      overrides.put("legato.cluster.seed-nodes", seeds);
    }
    org.slf4j.LoggerFactory.getILoggerFactory(); // logging first, before threads start logging at once
    Config config = ConfigFactory.parseMap(overrides).withFallback(ConfigFactory.load());
    boolean clustered;
    try {
      clustered = ClusterSettings.clustered(config);
    } catch (IllegalArgumentException e) {
      fail(e.getMessage());
      return;
    }
    boolean noPodium = !config.hasPath("legato.podium.url") || config.getIsNull("legato.podium.url")
        || config.getString("legato.podium.url").isBlank();
    if (clustered && noPodium) {
      // An emulator in each node would give each its own Podium: a thread moving to another node would not
      // find its agent's instance there.
      System.err.println("legato: a node of a cluster needs the Podium all nodes share: pass --podium-url"
          + " (LEGATO_PODIUM_URL); ./legato emulator runs a standalone one");
      System.exit(2);
      return;
    }
    PodiumEmulator emulator = null;
    if (noPodium) {
      emulator = PodiumEmulator.start(EmulatorSettings.defaults().withPort(0));
      config = ConfigFactory.parseMap(Map.of("legato.podium.url", emulator.baseUrl())).withFallback(config);
    }
    Gateway gateway;
    try {
      gateway = Gateway.start(config); // when it fails, it has stopped what it started
    } catch (Gateway.PortInUse e) {
      stopped(emulator);
      System.err.println("legato: " + e.getMessage() + "; " + switch (e.key()) {
        case "legato.gateway.port" -> "pass --port";
        case "pekko.management.http.port" -> "pass --management-port";
        case "pekko.remote.artery.canonical.port" -> "set LEGATO_CLUSTER_PORT";
        default -> "set " + e.key();
      });
      System.exit(1);
      return;
    } catch (IllegalArgumentException e) {
      stopped(emulator);
      System.err.println("legato: " + e.getMessage());
      System.exit(2);
      return;
    } catch (Exception e) {
      stopped(emulator);
      System.err.println("legato: could not start: " + e);
      e.printStackTrace();
      System.exit(1);
      return;
    }
    String host = gateway.host().equals("0.0.0.0") ? "127.0.0.1" : gateway.host();
    System.out.println("Legato " + Gateway.VERSION + " is listening on " + gateway.host() + ":" + gateway.port());
    System.out.println("  Podium:    " + (emulator == null ? config.getString("legato.podium.url")
        : emulator.baseUrl() + " (emulated in-process)"));
    System.out.println("  data:      " + Path.of(config.getString("legato.storage.data-dir")).toAbsolutePath().normalize());
    System.out.println("  replicas:  " + dev.legato.storage.SessionStorage.get(gateway.system()).replication()
        .map(r -> r.target().describe() + " (" + r.settings().mode().name().toLowerCase(java.util.Locale.ROOT)
            + "; restore with ./legato restore or litestream restore)")
        .orElse("off"));
    System.out.println("  cluster:   " + describeCluster(gateway, config));
    System.out.println("  " + gateway.auth().describe());
    System.out.println("  connect:   codex --remote ws://" + host + ":" + gateway.port());
    System.out.println("  or any app-server client at ws://" + host + ":" + gateway.port() + "/ (also /ws);"
        + " health: http://" + host + ":" + gateway.port() + "/healthz");
    System.out.println("  operators: http://" + host + ":" + gateway.port() + "/metrics, /admin/threads;"
        + " Pekko Management /alive, /ready on port " + gateway.managementPort());
    System.out.println("  Ctrl-C stops it.");
    AtomicBoolean stopping = new AtomicBoolean();
    PodiumEmulator embedded = emulator;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stopping.set(true);
      try {
        gateway.close();
      } catch (Exception e) {
        System.err.println("legato: " + e.getMessage());
      }
      if (embedded != null) {
        embedded.stop();
      }
    }, "legato-shutdown"));
    gateway.system().getWhenTerminated().toCompletableFuture().join();
    if (!stopping.get()) {
      // Not asked to stop: the cluster downed this node (it was unreachable too long, or on the minority side
      // of a partition). Its threads live on elsewhere; a supervisor restarts the process, which joins again.
      System.err.println("legato: this node was removed from its cluster and has stopped");
      stopped(embedded);
      System.exit(1);
    }
  }

  private static String describeCluster(Gateway gateway, Config config) {
    Cluster cluster = Cluster.get(gateway.system());
    String self = cluster.selfMember().address().toString();
    List<String> seeds = config.getStringList("pekko.cluster.seed-nodes");
    if (seeds.isEmpty() && !ClusterSettings.clustered(config)) {
      return self + " (a node of its own; --seed-node joins others)";
    }
    long up = java.util.stream.StreamSupport.stream(cluster.state().getMembers().spliterator(), false)
        .filter(m -> m.status() == MemberStatus.up()).count();
    return self + ", " + up + " node" + (up == 1 ? "" : "s") + " up; seed nodes " + String.join(", ",
        ClusterSettings.addresses(config).isEmpty() ? seeds : ClusterSettings.addresses(config));
  }

  private static void stopped(PodiumEmulator emulator) {
    if (emulator != null) {
      emulator.stop();
    }
  }

  private static void fail(String message) {
    System.err.println("legato: " + message);
    System.err.print(USAGE);
    System.exit(2);
  }
}
