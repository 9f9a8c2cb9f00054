package dev.legato.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Legato as a cluster of three nodes on this machine, through the public protocol only, against one node in the
 * same run. Each node is a child JVM ({@code dev.legato.gateway.Main} with {@code --cluster-port} and the same
 * {@code --seed-node} list), all sharing the Podium emulator and an S3 store (s3proxy) in this JVM, replicas in
 * {@code --replicas} mode (sync by default, as docker/compose.yaml runs them).
 *
 * <p>Phases: the gateway benchmark's load (N clients on the load agent, turn after turn) on one node, then spread
 * over the three nodes; then the hand-off of a graceful leave (SIGTERM of a node: for each thread it held, the time
 * from the signal to the first turn that completes again for a client on another node); then, with the node back,
 * the failover of a crash (SIGKILL: the same measure). Last line:
 * {@code RESULT cluster nodes=3 deltas_per_s=<x> one_node_deltas_per_s=<y> failover_p50_ms=<a> failover_p99_ms=<b>
 * handoff_p99_ms=<c>}.
 */
final class ClusterBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private ClusterBench() {}

  static void run(BenchOptions options) throws Exception {
    int clients = options.integer("clients", 30);
    double seconds = options.decimal("seconds", 15);
    double warmup = options.decimal("warmup", 10);
    int deltasPerTurn = options.integer("deltas-per-turn", 1000);
    int deltaBytes = options.integer("delta-bytes", 32);
    int probes = options.integer("threads", 30);
    String mode = options.text("replicas", "sync");
    String heap = options.text("node-heap", "512m");
    Set<String> phases = Set.of(options.text("phases", "load,handoff,failover").split(","));
    String prompt = deltasPerTurn + " " + deltaBytes + " t";
    Path work = Files.createTempDirectory("legato-bench-cluster");
    System.out.printf("cluster benchmark: 3 nodes (-Xmx%s each) and 1 node, %d clients on the load agent (%d deltas"
            + " of %d bytes a turn), %.0fs warm-up, %.0fs measured; %d threads for hand-off and failover; replicas %s"
            + " to s3proxy; %d cores; logs in %s (kept)%n", heap, clients, deltasPerTurn, deltaBytes, warmup, seconds, probes,
        mode, Runtime.getRuntime().availableProcessors(), work);
    double oneNode = Double.NaN;
    double threeNodes = Double.NaN;
    List<Long> handoffs = new ArrayList<>();
    List<Long> failovers = new ArrayList<>();
    try (EmbeddedS3 s3 = EmbeddedS3.start(); PodiumEmulator emulator = PodiumEmulator.start(EmulatorSettings.defaults())) {
      if (phases.contains("load")) {
        Nodes single = new Nodes(work.resolve("one"), 1, heap, mode, s3, emulator);
        try {
          single.startAll();
          oneNode = GatewayBench.load("one node", single.uris(), clients, prompt, deltaBytes, warmup, seconds)
              .deltasPerSecond();
        } finally {
          single.stopAll();
        }
      }
      Nodes cluster = new Nodes(work.resolve("three"), 3, heap, mode, s3, emulator);
      try {
        cluster.startAll();
        if (phases.contains("load")) {
          threeNodes = GatewayBench.load("three nodes", cluster.uris(), clients, prompt, deltaBytes, warmup, seconds)
              .deltasPerSecond();
        }
        if (phases.contains("handoff")) {
          handoffs = away(cluster, probes, false);
          cluster.restart(2);
        }
        if (phases.contains("failover")) {
          failovers = away(cluster, probes, true);
        }
      } finally {
        cluster.stopAll();
      }
    } finally {
      // the nodes' data go; their logs stay, to read what a phase's figures came from
      for (String nodes : List.of("one", "three")) {
        for (int i = 1; i <= 3; i++) {
          Teardown.remove(work.resolve(nodes).resolve("node" + i));
        }
      }
    }
    Collections.sort(handoffs);
    Collections.sort(failovers);
    System.out.printf("summary: 3 nodes %,.0f deltas/s, 1 node %,.0f deltas/s (%.2fx); hand-off %s ms; failover %s ms%n",
        threeNodes, oneNode, threeNodes / oneNode, handoffs, failovers);
    System.out.printf("RESULT cluster nodes=3 deltas_per_s=%.0f one_node_deltas_per_s=%.0f failover_p50_ms=%.0f"
            + " failover_p99_ms=%.0f handoff_p99_ms=%.0f%n", threeNodes, oneNode, percentile(failovers, 0.5),
        percentile(failovers, 0.99), percentile(handoffs, 0.99));
  }

  /**
   * {@code probes} threads with clients on the first two nodes; the third leaves (SIGTERM) or dies (SIGKILL) while the
   * clients of the threads it held run turn after turn. For each of those threads, the longest its client waited for a
   * turn to complete after the signal (until it completed one on the thread's new node), in ms; and, printed, how many
   * turns their clients were told completed before the signal are no longer there (sync mode: none; async: those of
   * the last sync-interval at most).
   */
  private static List<Long> away(Nodes cluster, int probes, boolean kill) throws Exception {
    String what = kill ? "failover (SIGKILL)" : "hand-off (SIGTERM)";
    List<TurnProbe> started = new ArrayList<>();
    ExecutorService runners = Executors.newCachedThreadPool(); // a thread for each busy client: they block
    try {
      List<CompletableFuture<TurnProbe>> starting = new ArrayList<>();
      for (int i = 0; i < probes; i++) {
        URI uri = cluster.uris().get(i % 2);
        starting.add(CompletableFuture.supplyAsync(() -> {
          try {
            return TurnProbe.start(HTTP, uri);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }));
      }
      for (CompletableFuture<TurnProbe> probe : starting) {
        started.add(probe.get(180, TimeUnit.SECONDS));
      }
      for (TurnProbe probe : started) {
        if (probe.startFailure != null) {
          for (int node = 0; node < 3; node++) {
            try {
              System.out.printf("  node %d says of thread %s: %s%n", node + 1, probe.threadId(),
                  cluster.get(node, "/admin/threads/" + probe.threadId()));
            } catch (Exception e) {
              System.out.printf("  node %d: %s%n", node + 1, e.getMessage());
            }
          }
          throw new IllegalStateException(probe.startFailure);
        }
      }
      Set<String> held = cluster.threadsOn(2);
      List<TurnProbe> affected = started.stream().filter(p -> held.contains(p.threadId())).toList();
      if (affected.isEmpty()) {
        System.out.printf("  %s: none of the %d threads was on the third node; nothing to measure%n", what, probes);
        return List.of();
      }
      // the affected threads' clients run turn after turn; the signal comes while they do, and they go on until
      // each has completed a turn after the node is gone (its threads moved), or two minutes
      AtomicBoolean stop = new AtomicBoolean();
      long began = System.nanoTime();
      List<CompletableFuture<Void>> loops = new ArrayList<>();
      for (TurnProbe probe : affected) {
        loops.add(CompletableFuture.runAsync(() -> {
          try {
            probe.runTurns(stop, began);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }, runners));
      }
      Thread.sleep(3_000);
      long signal = System.nanoTime();
      System.out.printf("  %s: signal at %s%n", what, java.time.LocalTime.now());
      cluster.signal(2, kill); // a leaving node serves until its threads are handed over
      cluster.awaitExit(2);
      long gone = System.nanoTime();
      long deadline = signal + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline && !affected.stream().allMatch(p -> p.completedAfter(gone))) {
        Thread.sleep(100);
      }
      Thread.sleep(500);
      long until = System.nanoTime();
      stop.set(true);
      for (CompletableFuture<Void> loop : loops) {
        try {
          loop.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
          System.out.printf("  %s: a client's loop ended badly: %s%n", what, e);
        }
      }
      List<Long> times = new ArrayList<>();
      for (TurnProbe probe : affected) {
        times.add(probe.completedAfter(gone) ? probe.longestWaitAfter(signal, until) : -1L);
      }
      // what the clients were told completed before the signal and the threads no longer hold
      long told = 0;
      List<Long> lostAges = new ArrayList<>();
      for (TurnProbe probe : affected) {
        told += probe.turnsCompletedBefore(signal);
        lostAges.addAll(probe.missingTurnsCompletedBefore(signal).values());
      }
      Collections.sort(lostAges);
      System.out.printf("  %s: of %d turns the clients of those threads were told completed before the signal, %d"
          + " lost%s (replicas %s)%n", what, told, lostAges.size(),
          lostAges.isEmpty() ? "" : ", told completed this many ms before it: " + lostAges, cluster.mode);
      TurnProbe slowest = affected.get(0);
      for (int i = 0; i < affected.size(); i++) {
        long time = times.get(i) < 0 ? Long.MAX_VALUE : times.get(i);
        long worst = times.get(affected.indexOf(slowest)) < 0 ? Long.MAX_VALUE : times.get(affected.indexOf(slowest));
        if (time > worst) {
          slowest = affected.get(i);
        }
      }
      System.out.printf("  %s: the slowest thread's tries: %s%n", what, slowest.tries());
      for (int i = 0; i < affected.size(); i++) {
        if (times.get(i) < 0 || affected.get(i).waitedInVain()) {
          TurnProbe stuck = affected.get(i);
          String state;
          try {
            state = cluster.get(0, "/admin/threads/" + stuck.threadId()).toString();
          } catch (Exception e) {
            state = "(" + e.getMessage() + ")";
          }
          System.out.printf("  %s: thread %s %s; its tries: %s; it says: %s%n", what, stuck.threadId(),
              times.get(i) < 0 ? "completed no turn" : "left a turn without an end", stuck.tries(), state);
        }
      }
      long lost = times.stream().filter(t -> t < 0).count();
      times.removeIf(t -> t < 0);
      Collections.sort(times);
      System.out.printf("  %s of the node holding %d of %d threads: longest wait for a completed turn %s ms (p50 %.0f, p99 %.0f)%s%n",
          what, affected.size(), probes, times, percentile(times, 0.5), percentile(times, 0.99),
          lost > 0 ? "; " + lost + " threads did not complete a turn within 120 s" : "");
      return times;
    } finally {
      started.forEach(TurnProbe::close);
      runners.shutdownNow();
    }
  }

  private static double percentile(List<Long> sorted, double q) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    return sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(q * sorted.size()) - 1));
  }

  /** Legato nodes as child JVMs joining each other (one node: a cluster of its own). */
  private static final class Nodes {
    private final Path work;
    private final String heap;
    private final String mode;
    private final EmbeddedS3 s3;
    private final PodiumEmulator emulator;
    private final int[] clusterPorts;
    private final GatewayBench.Child[] children;
    private final int[] managementPorts;

    Nodes(Path work, int count, String heap, String mode, EmbeddedS3 s3, PodiumEmulator emulator) throws IOException {
      this.work = Files.createDirectories(work);
      this.heap = heap;
      this.mode = mode;
      this.s3 = s3;
      this.emulator = emulator;
      this.clusterPorts = new int[count];
      this.managementPorts = new int[count];
      this.children = new GatewayBench.Child[count];
      for (int i = 0; i < count; i++) {
        clusterPorts[i] = freePort();
        managementPorts[i] = freePort();
      }
      // a benchmark stopped half-way (Ctrl-C) leaves no node behind
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        for (GatewayBench.Child child : children) {
          if (child != null) {
            child.process().destroyForcibly();
          }
        }
      }, "cluster-bench-nodes"));
    }

    void startAll() throws Exception {
      List<CompletableFuture<Void>> starting = new ArrayList<>();
      for (int i = 0; i < children.length; i++) {
        int node = i;
        starting.add(CompletableFuture.runAsync(() -> {
          try {
            start(node);
          } catch (Exception e) {
            throw new IllegalStateException("node " + (node + 1) + " did not start: " + e.getMessage(), e);
          }
        }));
      }
      for (CompletableFuture<Void> start : starting) {
        start.get(300, TimeUnit.SECONDS);
      }
      awaitMembers(children.length);
    }

    private void start(int node) throws Exception {
      List<String> arguments = new ArrayList<>(List.of("-Xmx" + heap, "-XX:+UseSerialGC", "dev.legato.gateway.Main",
          "--port", "0", "--management-port", String.valueOf(managementPorts[node]),
          "--data", work.resolve("node" + (node + 1)).toString(), "--podium-url", emulator.baseUrl(), "--replicas", mode,
          "--s3-url", s3.endpoint().toString(), "--s3-bucket", EmbeddedS3.BUCKET, "--s3-prefix", work.getFileName().toString()));
      if (children.length > 1) {
        arguments.addAll(List.of("--cluster-port", String.valueOf(clusterPorts[node])));
        for (int port : clusterPorts) {
          arguments.addAll(List.of("--seed-node", "127.0.0.1:" + port));
        }
      }
      List<String> command = new ArrayList<>(List.of(
          "-Dlegato.storage.replica.s3.access-key-id=" + EmbeddedS3.ACCESS_KEY_ID,
          "-Dlegato.storage.replica.s3.secret-access-key=" + EmbeddedS3.SECRET_ACCESS_KEY,
          "-Dlogback.configurationFile=" + logging(work)));
      command.addAll(arguments);
      children[node] = GatewayBench.Child.start("node" + (node + 1) + "-" + System.nanoTime(), work, command);
    }

    /** The nodes' logging: ./legato run's, with Pekko's cluster and sharding at INFO (what moved when). */
    private static Path logging(Path work) throws IOException {
      Path file = work.resolve("node-logback.xml");
      if (!Files.exists(file)) {
        Files.writeString(file, """
            <configuration>
              <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
                <target>System.err</target>
                <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
              </appender>
              <logger name="org.apache.pekko" level="WARN"/>
              <logger name="org.apache.pekko.cluster" level="INFO"/>
              <logger name="org.apache.pekko.io.TcpListener" level="OFF"/>
              <logger name="dev.legato.thread" level="DEBUG"/>
              <logger name="dev.legato.storage.replica.DbReplica" level="DEBUG"/>
              <logger name="dev.legato.storage.replica.Replication" level="DEBUG"/>
              <logger name="dev.legato.gateway.Connection" level="DEBUG"/>
              <root level="INFO"><appender-ref ref="STDERR"/></root>
            </configuration>
            """);
      }
      return file;
    }

    List<URI> uris() {
      List<URI> uris = new ArrayList<>();
      for (GatewayBench.Child child : children) {
        uris.add(child.uri());
      }
      return uris;
    }

    /** The threads alive on a node now. */
    Set<String> threadsOn(int node) throws Exception {
      Set<String> ids = new HashSet<>();
      for (JsonNode thread : get(node, "/admin/threads").path("threads")) {
        ids.add(thread.path("threadId").asText());
      }
      return ids;
    }

    /** SIGKILL or SIGTERM through the process handle: Process.destroy would also close the pipe its log comes by. */
    void signal(int node, boolean kill) {
      ProcessHandle process = children[node].process().toHandle();
      if (kill) {
        process.destroyForcibly();
      } else {
        process.destroy();
      }
    }

    void awaitExit(int node) throws InterruptedException {
      children[node].process().waitFor(90, TimeUnit.SECONDS);
    }

    void stop(int node, boolean kill) throws InterruptedException {
      signal(node, kill);
      awaitExit(node);
    }

    void restart(int node) throws Exception {
      if (children[node].process().isAlive()) {
        stop(node, false);
      }
      start(node);
      awaitMembers(children.length);
    }

    void stopAll() {
      for (GatewayBench.Child child : children) {
        if (child != null) {
          try {
            child.stop();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    }

    private void awaitMembers(int count) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        boolean agreed = true;
        for (int i = 0; i < children.length; i++) {
          JsonNode members = get(i, "/admin/cluster").path("members");
          int up = 0;
          for (JsonNode member : members) {
            up += member.path("status").asText().equals("Up") ? 1 : 0;
          }
          agreed &= up == count && members.size() == count;
        }
        if (agreed) {
          return;
        }
        Thread.sleep(250);
      }
      throw new IllegalStateException("the nodes did not agree on " + count + " members within 120 s");
    }

    JsonNode get(int node, String path) throws Exception {
      URI uri = URI.create("http://127.0.0.1:" + children[node].uri().getPort() + path);
      HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IOException(path + ": " + response.statusCode() + " " + response.body());
      }
      return JSON.readTree(response.body());
    }

    private static int freePort() throws IOException {
      try (ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
        return socket.getLocalPort();
      }
    }
  }
}
