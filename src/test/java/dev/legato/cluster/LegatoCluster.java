package dev.legato.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import dev.legato.storage.replica.S3Target;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The compose file's cluster on loopback: its S3 store (s3proxy, in the test's JVM, with the credentials the
 * compose file gives it and the bucket it makes), its Podium (the emulator, in the test's JVM, on the port its
 * command names) and its Legato nodes, each a process of its own ({@link Node}). One cluster serves every test
 * class of the run (starting three JVMs on two cores takes a while): each class begins with all nodes up, and the
 * cluster is stopped, every process killed, when the run ends (and by a shutdown hook if it is cut short).
 */
final class LegatoCluster implements ExtensionContext.Store.CloseableResource, AutoCloseable {
  private static final String MAIN = "dev.legato.gateway.Main";

  final Path root;
  final Compose compose;
  final Loopback loopback;
  final Path work;
  private final Map<String, Node> nodes = new LinkedHashMap<>();
  private S3Proxy s3;
  private BlobStore objects;
  private PodiumEmulator podium;

  private LegatoCluster(Path root) throws IOException {
    this.root = root;
    this.compose = Compose.read(root);
    this.work = root.resolve("cluster-tests/target/cluster-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("HHmmss")));
    this.loopback = new Loopback(compose.services().keySet(), work.resolve("volumes"));
  }

  static Path repositoryRoot() {
    return Path.of(System.getProperty("legato.root", "..")).toAbsolutePath().normalize();
  }

  /** For a test class: {@code @RegisterExtension static final LegatoCluster.Shared cluster = new LegatoCluster.Shared();} */
  static final class Shared implements BeforeAllCallback {
    private LegatoCluster cluster;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
      cluster = context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
          .getOrComputeIfAbsent(LegatoCluster.class, key -> {
            try {
              LegatoCluster started = new LegatoCluster(repositoryRoot());
              started.start();
              return started;
            } catch (Exception e) {
              Processes.stopAll();
              throw new IllegalStateException("the cluster did not start: " + e.getMessage(), e);
            }
          }, LegatoCluster.class);
      cluster.allUp();
    }

    LegatoCluster get() {
      return cluster;
    }
  }

  private void start() throws Exception {
    long began = System.nanoTime();
    startS3();
    Compose.Service podiumService = compose.service("podium");
    int podiumPort = loopback.port("podium", Integer.parseInt(option(podiumService.command(), "--port")));
    podium = PodiumEmulator.start(EmulatorSettings.defaults().withHost("127.0.0.1").withPort(podiumPort));
    String classpath = classpath();
    for (Compose.Service service : compose.nodes()) {
      List<String> command = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          // three nodes, the emulator and s3proxy share two cores: small heaps, C1 only (quicker starts)
          "-Xmx320m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
          // histories answered to another node go in pages of 256 KiB, and no reply may exceed 1 MiB (16 MiB
          // deployed): the tests' histories of a few MiB cross nodes only if they are paged
          "-Dlegato.thread.history-page-bytes=256KiB",
          "-Dpekko.remote.artery.advanced.maximum-large-frame-size=1MiB",
          "-Dconfig.file=" + root.resolve("application.conf"),
          "-Dlogback.configurationFile=" + logging(),
          "-cp", classpath, MAIN));
      nodes.put(service.name(), new Node(service.name(), command, loopback.environment(service), work.resolve("logs")));
    }
    for (Node node : nodes.values()) {
      node.start();
    }
    for (Node node : nodes.values()) {
      node.awaitReady(Duration.ofSeconds(150));
    }
    awaitMembers(nodes.size(), Duration.ofSeconds(60));
    System.out.printf("cluster of %d nodes up in %d ms: %s%n", nodes.size(), (System.nanoTime() - began) / 1_000_000, nodes.values());
  }

  /** The nodes' logging: the run's, with Pekko's cluster at INFO (src/test/resources/cluster-node-logback.xml). */
  private static String logging() {
    try {
      return Path.of(LegatoCluster.class.getResource("/cluster-node-logback.xml").toURI()).toString();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The value following {@code option} in a command, e.g. {@code --port 8090}. */
  private static String option(List<String> command, String option) {
    int at = command.indexOf(option);
    if (at < 0 || at + 1 >= command.size()) {
      throw new IllegalArgumentException("the compose command " + command + " has no " + option);
    }
    return command.get(at + 1);
  }

  /** As ./legato runs the gateway: its classes, then its runtime classpath as Maven wrote it at package time. */
  private String classpath() throws IOException {
    Path file = root.resolve("gateway-app/target/runtime.classpath");
    if (!Files.exists(file)) {
      throw new IllegalStateException(file + " is missing: the cluster tests run the packaged gateway (mvn verify, ./legato test)");
    }
    return root.resolve("gateway-app/target/classes") + ":" + Files.readString(file).trim();
  }

  private void startS3() throws Exception {
    Compose.Service service = compose.service("s3");
    Map<String, String> environment = service.environment();
    int port = loopback.port("s3", URI.create(environment.get("S3PROXY_ENDPOINT")).getPort());
    Files.createDirectories(loopback.volume("s3"));
    objects = new FilesystemNio2BlobStore(loopback.volume("s3").toString());
    String bucket = compose.nodes().get(0).environment().get("LEGATO_S3_BUCKET");
    objects.createContainer(bucket); // what the compose file's bucket service does
    s3 = S3Proxy.builder().blobStore(objects).endpoint(URI.create("http://127.0.0.1:" + port))
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, environment.get("S3PROXY_IDENTITY"), environment.get("S3PROXY_CREDENTIAL"))
        .build();
    s3.start();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!"STARTED".equals(s3.getState())) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("s3proxy did not start (" + s3.getState() + ")");
      }
      Thread.sleep(10);
    }
  }

  Node node(String name) {
    return nodes.get(name);
  }

  List<Node> nodes() {
    return List.copyOf(nodes.values());
  }

  /** The nodes running now (a paused one answers nothing: not among them). */
  List<Node> running() {
    return nodes.values().stream().filter(node -> node.alive() && !node.paused()).toList();
  }

  /** Starts every node that is down, waits until each takes clients and the cluster has them all as members. */
  void allUp() throws Exception {
    List<Node> restarted = new ArrayList<>();
    for (Node node : nodes.values()) {
      if (!node.alive()) {
        node.start();
        restarted.add(node);
      }
    }
    for (Node node : restarted) {
      node.awaitReady(Duration.ofSeconds(150));
    }
    awaitMembers(nodes.size(), Duration.ofSeconds(90));
  }

  /** Waits until every running node sees exactly {@code count} members, all Up. */
  void awaitMembers(int count, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      boolean agreed = true;
      for (Node node : running()) {
        try {
          JsonNode members = node.get("/admin/cluster").path("members");
          long up = 0;
          for (JsonNode member : members) {
            up += member.path("status").asText().equals("Up") ? 1 : 0;
          }
          last = node.name + " sees " + members;
          agreed &= members.size() == count && up == count;
        } catch (IOException e) {
          agreed = false;
          last = node.name + ": " + e.getMessage();
        }
      }
      if (agreed) {
        return;
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException("the nodes do not agree on " + count + " members Up within " + timeout + ": " + last);
  }

  /** The node whose shard region holds the thread's entity now, if a running node does. */
  Optional<Node> holder(String threadId) throws Exception {
    for (Node node : running()) {
      try {
        for (JsonNode thread : node.get("/admin/threads").path("threads")) {
          if (thread.path("threadId").asText().equals(threadId)) {
            return Optional.of(node);
          }
        }
      } catch (IOException e) {
        // a node going down: not the holder
      }
    }
    return Optional.empty();
  }

  /** The replicas' store as the nodes reach it, for checks from outside (restores, listings). */
  S3Target replicas() {
    Map<String, String> environment = nodes.values().iterator().next().environment();
    Map<String, Object> keys = new HashMap<>();
    keys.put("url", environment.get("LEGATO_S3_URL"));
    keys.put("bucket", environment.get("LEGATO_S3_BUCKET"));
    keys.put("prefix", environment.getOrDefault("LEGATO_S3_PREFIX", ""));
    keys.put("access-key-id", environment.get("LEGATO_S3_ACCESS_KEY_ID"));
    keys.put("secret-access-key", environment.get("LEGATO_S3_SECRET_ACCESS_KEY"));
    Config s3 = ConfigFactory.parseMap(keys).withFallback(ConfigFactory.load().getConfig("legato.storage.replica.s3"));
    return S3Target.fromConfig(s3);
  }

  @Override
  public void close() {
    Processes.stopAll();
    if (podium != null) {
      podium.stop();
    }
    try {
      if (s3 != null) {
        s3.stop();
      }
    } catch (Exception e) {
      System.out.println("could not stop s3proxy: " + e);
    }
  }
}
