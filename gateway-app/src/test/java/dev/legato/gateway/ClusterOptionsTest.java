package dev.legato.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a node is told to join a cluster (seed nodes as {@code host:port}, from flags or one environment variable),
 * and what it refuses before it starts anything: a cluster without a shared Podium or shared replicas.
 */
class ClusterOptionsTest {
  @TempDir Path data;

  private static Config config(Map<String, Object> keys) {
    return ConfigFactory.parseMap(keys).withFallback(ConfigFactory.load());
  }

  @Test
  void seedNodesNamedAsHostAndPortBecomePekkoAddresses() {
    Config listed = config(Map.of("legato.cluster.seed-nodes", List.of("legato1:25520", "10.0.0.2:25520")));
    assertEquals(List.of("pekko://legato@legato1:25520", "pekko://legato@10.0.0.2:25520"), ClusterSettings.addresses(listed));
    Config commaSeparated = config(Map.of("legato.cluster.seed-nodes", " a:1, pekko://legato@b:2 ,"));
    assertEquals(List.of("pekko://legato@a:1", "pekko://legato@b:2"), ClusterSettings.addresses(commaSeparated));
    assertEquals(List.of("pekko://legato@a:1", "pekko://legato@b:2"),
        ClusterSettings.apply(commaSeparated).getStringList("pekko.cluster.seed-nodes"));
    assertTrue(ClusterSettings.clustered(commaSeparated));
  }

  @Test
  void withoutSeedNodesANodeIsAClusterOfItsOwn() {
    Config none = config(Map.of());
    assertEquals(List.of(), ClusterSettings.addresses(none));
    assertFalse(ClusterSettings.clustered(none));
    assertEquals(List.of(), ClusterSettings.apply(none).getStringList("pekko.cluster.seed-nodes"));
  }

  @Test
  void aSeedNodeThatIsNotHostAndPortIsRefusedNamingIt() {
    IllegalArgumentException noPort = assertThrows(IllegalArgumentException.class,
        () -> ClusterSettings.addresses(config(Map.of("legato.cluster.seed-nodes", "legato1"))));
    assertTrue(noPort.getMessage().contains("'legato1'"), noPort.getMessage());
    IllegalArgumentException otherSystem = assertThrows(IllegalArgumentException.class,
        () -> ClusterSettings.addresses(config(Map.of("legato.cluster.seed-nodes", "pekko://other@a:1"))));
    assertTrue(otherSystem.getMessage().contains("pekko://legato@"), otherSystem.getMessage());
  }

  @Test
  void aNodeOfAClusterRefusesReplicasThatTheOtherNodesCannotSee() {
    Map<String, Object> base = Map.of("legato.cluster.seed-nodes", "127.0.0.1:1", "legato.storage.data-dir", data.toString());
    IllegalArgumentException perNode = assertThrows(IllegalArgumentException.class, () -> Gateway.start(config(base)));
    assertTrue(perNode.getMessage().contains("replicas that every node shares"), perNode.getMessage());
    Map<String, Object> off = new java.util.HashMap<>(base);
    off.put("legato.storage.replica.mode", "off");
    IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> Gateway.start(config(off)));
    assertTrue(none.getMessage().contains("needs replicas"), none.getMessage());
  }

  @Test
  void runRefusesAClusterWithoutTheSharedPodiumInOneLine() throws Exception {
    Run run = run("--cluster-port", "0", "--seed-node", "127.0.0.1:1");
    assertEquals(2, run.exit(), run.output());
    assertEquals("legato: a node of a cluster needs the Podium all nodes share: pass --podium-url (LEGATO_PODIUM_URL);"
        + " ./legato emulator runs a standalone one", run.lastLine(), run.output());
  }

  @Test
  void helpListsTheClusterOptions() throws Exception {
    Run run = run("--help");
    assertEquals(0, run.exit(), run.output());
    for (String flag : List.of("--cluster-port", "--cluster-host", "--seed-node", "LEGATO_SEED_NODES", "LEGATO_CLUSTER_PORT")) {
      assertTrue(run.output().contains(flag), flag + " in " + run.output());
    }
  }

  record Run(int exit, String output) {
    String lastLine() {
      List<String> lines = output.lines().filter(l -> !l.isBlank()).toList();
      return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }
  }

  /** {@code ./legato run}: Main in a JVM of its own. */
  private Run run(String... args) throws Exception {
    Path output = Files.createTempFile(data, "run", ".log");
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
        "-Dlogback.configurationFile=legato-logback.xml",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--data", data.resolve("d").toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
    builder.environment().remove("LEGATO_PODIUM_URL");
    Process process = builder.start();
    try {
      assertTrue(process.waitFor(60, TimeUnit.SECONDS), "still running: " + read(output));
      return new Run(process.exitValue(), read(output));
    } finally {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }
}
