package dev.legato.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One Legato node of the compose file as a process of its own on loopback: {@code java -cp <the gateway's runtime
 * classpath> dev.legato.gateway.Main} with the deployment configuration ({@code -Dconfig.file=application.conf},
 * as the image runs it) and exactly the environment the compose file gives the service, mapped to loopback
 * ({@link Loopback}). It can be stopped the ways a node stops: SIGTERM, SIGKILL, SIGSTOP and SIGCONT.
 */
final class Node {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  final String name;
  private final List<String> command;
  private final Map<String, String> environment;
  private final Path logs;
  private Process process;
  private volatile boolean paused;
  private int starts;
  private Path log;

  Node(String name, List<String> command, Map<String, String> environment, Path logs) {
    this.name = name;
    this.command = command;
    this.environment = environment;
    this.logs = logs;
  }

  /** The environment its process gets (the compose file's, mapped to loopback). */
  Map<String, String> environment() {
    return environment;
  }

  int port() {
    return Integer.parseInt(environment.get("LEGATO_PORT"));
  }

  int clusterPort() {
    return Integer.parseInt(environment.get("LEGATO_CLUSTER_PORT"));
  }

  /** The node's address in the cluster, as members report it. */
  String address() {
    return "pekko://legato@127.0.0.1:" + clusterPort();
  }

  String url() {
    return "ws://127.0.0.1:" + port();
  }

  Path dataDir() {
    return Path.of(environment.get("LEGATO_DATA_DIR"));
  }

  /** Starts the process (again); {@link #awaitReady} waits until it takes clients. */
  synchronized void start() throws IOException {
    if (alive()) {
      throw new IllegalStateException(name + " is running");
    }
    Files.createDirectories(logs);
    log = logs.resolve(name + "-" + (++starts) + ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().clear(); // exactly the compose file's environment, nothing of the test's
    builder.environment().putAll(environment);
    process = Processes.started(builder.start());
    paused = false;
  }

  boolean alive() {
    return process != null && process.isAlive();
  }

  /** Stopped with SIGSTOP and not resumed yet: it answers nothing. */
  boolean paused() {
    return paused;
  }

  long pid() {
    return process.pid();
  }

  /** Waits until {@code /readyz} answers 200 (the node has joined the cluster and takes clients). */
  void awaitReady(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (!alive()) {
        throw new IllegalStateException(name + " exited with " + process.exitValue() + " while starting: " + logTail());
      }
      if (status("/readyz") == 200) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(name + " is not ready after " + timeout + ": " + logTail());
      }
      Thread.sleep(200);
    }
  }

  /** An HTTP GET's status, -1 when nothing answers. */
  int status(String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + path))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /**
   * The first key of a {@code key=tenant,...} list in the node's environment ({@code LEGATO_API_KEYS},
   * {@code LEGATO_ADMIN_KEYS}) whose tenant is {@code tenant} (any, when null); null when there is none.
   */
  String key(String variable, String tenant) {
    String keys = environment.getOrDefault(variable, "");
    for (String entry : keys.split(",")) {
      int at = entry.lastIndexOf('=');
      if (at > 0 && (tenant == null || entry.substring(at + 1).trim().equals(tenant))) {
        return entry.substring(0, at).trim();
      }
    }
    return null;
  }

  /** An operator's GET of a JSON route, with the compose file's admin key (loopback needs none without keys). */
  JsonNode get(String path) throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + path))
        .timeout(Duration.ofSeconds(30));
    String admin = key("LEGATO_ADMIN_KEYS", null);
    if (admin != null) {
      request.header("Authorization", "Bearer " + admin);
    }
    HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("GET " + path + " on " + name + ": " + response.statusCode() + " " + response.body());
    }
    return JSON.readTree(response.body());
  }

  /** SIGTERM: the node drains and leaves the cluster gracefully. */
  void terminate() {
    process.destroy();
  }

  /** SIGKILL: gone at once, without a word to anyone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  void pause() throws Exception {
    signal("STOP");
    paused = true;
  }

  void resume() throws Exception {
    signal("CONT");
    paused = false;
  }

  private void signal(String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).inheritIO().start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IllegalStateException("kill -" + signal + " " + process.pid() + " failed");
    }
  }

  /** Waits for the process to end; its exit code. */
  int awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(name + " still runs after " + timeout + ": " + logTail());
    }
    return process.exitValue();
  }

  /** The last lines of its current log, for failure messages. */
  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return "\n--- " + log + " (last lines) ---\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException | RuntimeException e) {
      return "(no log: " + e + ")";
    }
  }

  /** Its whole log so far (every start). */
  String logs() throws IOException {
    List<String> all = new ArrayList<>();
    for (int i = 1; i <= starts; i++) {
      all.add(Files.readString(logs.resolve(name + "-" + i + ".log"), StandardCharsets.UTF_8));
    }
    return String.join("\n", all);
  }

  @Override
  public String toString() {
    return name + " (ws " + port() + ", cluster " + clusterPort() + (alive() ? ", pid " + pid() : ", down") + ")";
  }
}
