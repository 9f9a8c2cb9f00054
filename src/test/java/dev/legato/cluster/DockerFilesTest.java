package dev.legato.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The docker files, without a container runtime: the Dockerfile passes dockerfilelint, and the compose file is
 * one the cluster tests can run as it is (three nodes that name each other as seeds, the shared S3 store and
 * Podium, every value that names a service mapped to loopback), with the image starting what the tests start.
 */
class DockerFilesTest {
  @TempDir Path scratch;

  @Test
  void theDockerfilePassesDockerfilelint() throws Exception {
    String binary = System.getProperty("legato.dockerfilelint.bin", "");
    if (binary.isBlank()) {
      binary = System.getenv().getOrDefault("LEGATO_DOCKERFILELINT_BIN", "");
    }
    if (binary.isBlank() || !Files.isExecutable(Path.of(binary))) {
      fail("dockerfilelint is needed: ./legato test installs it (scripts/provision-test-tools dockerfilelint prints its"
          + " path; pass -Dlegato.dockerfilelint.bin=<path> or LEGATO_DOCKERFILELINT_BIN); got '" + binary + "'");
    }
    Path output = scratch.resolve("dockerfilelint.txt");
    Process lint = new ProcessBuilder(binary, LegatoCluster.repositoryRoot().resolve("docker/Dockerfile").toString())
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    assertTrue(lint.waitFor(120, TimeUnit.SECONDS), "dockerfilelint finished");
    String report = Files.readString(output, StandardCharsets.UTF_8);
    assertEquals(0, lint.exitValue(), report);
    assertTrue(report.contains("Issues: None found"), report);
  }

  @Test
  void theComposeFileRunsThreeNodesThatNameEachOtherWithTheStoreAndPodiumTheyShare() throws Exception {
    Compose compose = Compose.read(LegatoCluster.repositoryRoot());
    List<Compose.Service> nodes = compose.nodes();
    assertEquals(List.of("legato1", "legato2", "legato3"), nodes.stream().map(Compose.Service::name).toList());
    for (Compose.Service node : nodes) {
      Map<String, String> environment = node.environment();
      assertEquals("legato1:25520,legato2:25520,legato3:25520", environment.get("LEGATO_SEED_NODES"));
      assertEquals(node.name(), environment.get("LEGATO_CLUSTER_HOST"));
      assertEquals("http://podium:8090", environment.get("LEGATO_PODIUM_URL"));
      assertTrue(environment.containsKey("LEGATO_S3_BUCKET") && environment.containsKey("LEGATO_S3_URL"), environment.toString());
      assertEquals("sync", environment.get("LEGATO_REPLICA_MODE"));
      assertEquals("/data", environment.get("LEGATO_DATA_DIR"), "the image's ENV is part of what a node sees");
    }
    Loopback loopback = new Loopback(compose.services().keySet(), scratch);
    Map<String, String> first = loopback.environment(nodes.get(0));
    Map<String, String> second = loopback.environment(nodes.get(1));
    assertFalse(first.entrySet().stream().filter(e -> !e.getKey().equals("LEGATO_DATA_DIR")).map(Map.Entry::getValue)
            .anyMatch(v -> v.contains("legato1") || v.contains("podium") || v.contains("0.0.0.0")),
        "every host is loopback: " + first);
    assertEquals(scratch.resolve("legato1").toString(), first.get("LEGATO_DATA_DIR"), "the node's volume is a folder");
    assertEquals(first.get("LEGATO_SEED_NODES"), second.get("LEGATO_SEED_NODES"), "one seed list for all");
    assertEquals(Set.of(first.get("LEGATO_CLUSTER_PORT"), second.get("LEGATO_CLUSTER_PORT")).size(), 2, "a port each");
    assertTrue(first.get("LEGATO_SEED_NODES").contains("127.0.0.1:" + first.get("LEGATO_CLUSTER_PORT")));
    assertEquals(first.get("LEGATO_PODIUM_URL"), second.get("LEGATO_PODIUM_URL"), "one Podium for all");
  }

  @Test
  void theImageStartsTheGatewayWithTheDeploymentConfigurationAsTheTestsDo() throws Exception {
    Compose compose = Compose.read(LegatoCluster.repositoryRoot());
    List<String> entrypoint = compose.entrypoint();
    assertEquals("java", entrypoint.get(0), entrypoint.toString());
    assertTrue(entrypoint.contains("-Dconfig.file=/app/application.conf"), entrypoint.toString());
    assertEquals("dev.legato.gateway.Main", entrypoint.get(entrypoint.size() - 1), entrypoint.toString());
    String dockerfile = Files.readString(LegatoCluster.repositoryRoot().resolve("docker/Dockerfile"));
    assertTrue(dockerfile.contains("COPY application.conf /app/application.conf"), "the image carries the root application.conf");
    assertTrue(dockerfile.contains("USER legato"), "not as root");
    assertTrue(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("/ready"), "a health check on readiness");
    String conf = Files.readString(LegatoCluster.repositoryRoot().resolve("application.conf"));
    assertTrue(conf.contains("include classpath(\"application.conf\")"),
        "the deployment configuration keeps the application's own defaults");
  }
}
