package dev.legato.podium.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RestApiTest {
  private static final String TENANT = "pod_test";
  private static final String ADMIN = "pod_admin_x";
  private static PodiumEmulator emulator;
  private static TestClient anonymous;
  private static TestClient tenant;
  private static TestClient admin;

  @BeforeAll
  static void start() {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults()
        .withTenantKeys(Set.of(TENANT)).withAdminKeys(Set.of(ADMIN)));
    anonymous = new TestClient(emulator);
    tenant = anonymous.withKey(TENANT);
    admin = anonymous.withKey(ADMIN);
  }

  @AfterAll
  static void stop() {
    emulator.stop();
  }

  @Test
  void healthAnswers200WithoutAKey() {
    assertEquals(200, anonymous.get("/health").statusCode());
  }

  @Test
  void callsWithoutAValidKeyAre401WithAJsonError() {
    var missing = anonymous.get("/api/v1/deployments");
    assertEquals(401, missing.statusCode());
    assertEquals("unauthorized", TestClient.json(missing).get("error").get("code").asText());
    assertEquals(401, anonymous.withKey("pod_wrong").get("/api/v1/deployments").statusCode());
    assertEquals(401, anonymous.post("/api/v1/instances", "{\"deployment_id\":\"echo:latest\"}").statusCode());
    assertEquals(200, tenant.get("/api/v1/deployments").statusCode());
    assertEquals(200, admin.get("/api/v1/deployments").statusCode());
  }

  @Test
  void theWebSocketNeedsTheKeyToo() {
    String id = tenant.createInstance("echo:latest");
    var refused = org.junit.jupiter.api.Assertions.assertThrows(AgentConnection.ConnectFailed.class,
        () -> anonymous.connect(id));
    assertEquals(401, refused.status());
    tenant.connect(id).close();
  }

  @Test
  void adminCallsNeedAnAdminKey() {
    assertEquals(401, tenant.post("/admin/faults", "{\"action\":\"reset\"}").statusCode());
    assertEquals(200, admin.post("/admin/faults", "{\"action\":\"reset\"}").statusCode());
  }

  @Test
  void creatingAnInstanceAnswers201WithIdsAndStatusInitializing() {
    var created = tenant.post("/api/v1/instances",
        "{\"deployment_id\":\"" + tenant.deploymentId("echo", "1.0.0") + "\",\"config\":{\"a\":1},\"secrets\":{\"k\":\"v\"}}");
    assertEquals(201, created.statusCode());
    JsonNode body = TestClient.json(created);
    assertTrue(body.get("instance_id").asText().startsWith("inst_"));
    assertTrue(body.get("agent_id").asText().startsWith("agent_"));
    assertEquals("initializing", body.get("status").asText());
  }

  @Test
  void gettingAnInstanceShowsItsDeploymentStatusAndConfigButNoSecrets() {
    String deployment = tenant.deploymentId("echo", "1.2.0");
    var created = TestClient.json(tenant.post("/api/v1/instances",
        "{\"deployment_id\":\"" + deployment + "\",\"config\":{\"model\":\"m1\"},\"secrets\":{\"token\":\"s3cret\"}}"));
    var got = tenant.get("/api/v1/instances/" + created.get("instance_id").asText());
    assertEquals(200, got.statusCode());
    JsonNode body = TestClient.json(got);
    assertEquals(created.get("instance_id"), body.get("instance_id"));
    assertEquals(created.get("agent_id"), body.get("agent_id"));
    assertEquals(deployment, body.get("deployment_id").asText());
    assertEquals("m1", body.get("config").get("model").asText());
    assertTrue(Set.of("initializing", "ready").contains(body.get("status").asText()));
    assertTrue(body.hasNonNull("created_at"));
    assertFalse(got.body().contains("s3cret"));
  }

  @Test
  void unknownInstancesAre404AndDeleteAnswers204ThenTheInstanceIsGone() {
    assertEquals(404, tenant.get("/api/v1/instances/inst_nope").statusCode());
    assertEquals(404, tenant.delete("/api/v1/instances/inst_nope").statusCode());
    String id = tenant.createInstance("echo:latest");
    assertEquals(204, tenant.delete("/api/v1/instances/" + id).statusCode());
    assertEquals(404, tenant.get("/api/v1/instances/" + id).statusCode());
    assertFalse(emulator.instances().containsKey(id));
  }

  @Test
  void anUnknownDeploymentIs404WithAJsonError() {
    var response = tenant.post("/api/v1/instances", "{\"deployment_id\":\"nope:1.0.0@00000000\"}");
    assertEquals(404, response.statusCode());
    assertEquals("deployment_not_found", TestClient.json(response).get("error").get("code").asText());
  }

  @Test
  void malformedBodiesAre400() {
    for (String body : List.of("{nope", "", "[]", "{}", "{\"deployment_id\":7}",
        "{\"deployment_id\":\"echo:latest\",\"config\":[1]}")) {
      var response = tenant.post("/api/v1/instances", body);
      assertEquals(400, response.statusCode(), body);
      assertEquals("bad_request", TestClient.json(response).get("error").get("code").asText());
    }
  }

  @Test
  void deploymentsAreListedWithContractIdsAndFilteredByAgentType() throws Exception {
    JsonNode all = TestClient.json(tenant.get("/api/v1/deployments")).get("deployments");
    List<String> types = new ArrayList<>();
    all.forEach(d -> types.add(d.get("agent_type").asText()));
    assertTrue(types.containsAll(List.of("echo", "coder", "load", "claude-agent")));
    JsonNode echo = TestClient.json(tenant.get("/api/v1/deployments?agent_type=echo")).get("deployments");
    List<String> versions = new ArrayList<>();
    for (JsonNode d : echo) {
      versions.add(d.get("version").asText());
      String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(("echo:" + d.get("version").asText()).getBytes(StandardCharsets.UTF_8)));
      assertEquals("echo:" + d.get("version").asText() + "@" + sha.substring(0, 8), d.get("deployment_id").asText());
      assertEquals(sha, d.get("checksum").asText());
      assertTrue(d.hasNonNull("created_at"));
    }
    assertEquals(List.of("1.0.0", "1.2.0", "1.10.0"), versions);
    assertEquals(0, TestClient.json(tenant.get("/api/v1/deployments?agent_type=none")).get("deployments").size());
  }

  @Test
  void latestResolvesToTheHighestSemanticVersion() {
    String id = tenant.createInstance("echo:latest");
    assertTrue(TestClient.json(tenant.get("/api/v1/instances/" + id)).get("deployment_id").asText()
        .startsWith("echo:1.10.0@"));
  }

  @Test
  void aMultipartUploadRegistersADeploymentWhoseIdHashesTheBundle() throws Exception {
    byte[] bundle = "not really a tar.gz".getBytes(StandardCharsets.UTF_8);
    String boundary = "----legato-test";
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    part(body, boundary, "agent_type", null, "custom".getBytes(StandardCharsets.UTF_8));
    part(body, boundary, "version", null, "2.0.0".getBytes(StandardCharsets.UTF_8));
    part(body, boundary, "file", "bundle.tar.gz", bundle);
    body.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));

    assertEquals(401, tenant.postMultipart("/api/v1/deployments", boundary, body.toByteArray()).statusCode());
    var response = admin.postMultipart("/api/v1/deployments", boundary, body.toByteArray());
    assertEquals(201, response.statusCode(), response.body());
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bundle));
    JsonNode deployment = TestClient.json(response);
    assertEquals("custom:2.0.0@" + sha.substring(0, 8), deployment.get("deployment_id").asText());
    assertEquals(sha, deployment.get("checksum").asText());
    assertEquals(409, admin.postMultipart("/api/v1/deployments", boundary, body.toByteArray()).statusCode());
    // an unknown agent type behaves like echo
    String id = tenant.createInstance(deployment.get("deployment_id").asText());
    try (AgentConnection socket = tenant.connect(id)) {
      socket.processMessage("msg_c", "custom echo");
      assertEquals("custom echo", socket.nextOf("text_final").get("content").get("text").asText());
    }
    assertEquals(400, admin.post("/api/v1/deployments", "{}").statusCode());
  }

  private static void part(ByteArrayOutputStream out, String boundary, String name, String filename, byte[] data)
      throws java.io.IOException {
    String header = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\""
        + (filename == null ? "" : "; filename=\"" + filename + "\"\r\nContent-Type: application/gzip") + "\r\n\r\n";
    out.write(header.getBytes(StandardCharsets.UTF_8));
    out.write(data);
    out.write("\r\n".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void unknownRoutesAre404AndWrongMethodsAre405() {
    assertEquals(404, tenant.get("/api/v2/whatever").statusCode());
    assertEquals(404, tenant.get("/nothing").statusCode());
    assertEquals(405, tenant.get("/api/v1/instances").statusCode());
    assertEquals(405, tenant.delete("/api/v1/deployments").statusCode());
    assertEquals(405, tenant.post("/api/v1/instances/inst_x", "{}").statusCode());
    assertEquals(400, tenant.get("/agent/inst_x").statusCode());
  }
}
