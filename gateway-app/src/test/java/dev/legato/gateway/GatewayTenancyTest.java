package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.params;
import static dev.legato.gateway.CodexClient.thread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Tenants and operators, with API keys, an admin key and JWTs configured (so, by default, no loopback trust):
 * who may connect at all, that a tenant can neither see nor touch another tenant's threads, and that the
 * operations routes are an operator's and never wake a thread that does not exist.
 */
class GatewayTenancyTest {
  static final String SECRET = "a-shared-secret-of-at-least-32-bytes!";
  static final Map<String, String> ALPHA = Map.of("Authorization", "Bearer k1");
  static final Map<String, String> BETA = Map.of("Authorization", "Bearer k2");
  static final Map<String, String> OPERATOR = Map.of("Authorization", "Bearer k0");
  @RegisterExtension
  static final LegatoUnderTest legato = LegatoUnderTest.with(Map.of(
      "legato.gateway.auth.api-keys", "k1=alpha,k2=beta",
      "legato.gateway.auth.admin-keys", "k0=ops",
      "legato.gateway.auth.jwt.secret", SECRET,
      "legato.gateway.auth.allowed-origins", "https://console.example.com"));

  @Test
  void onlyAKeyOpensTheSocketAndOnlyFromAnAllowedOrigin() throws Exception {
    assertEquals(401, CodexClient.upgradeStatus(legato.url, Map.of()), "no key, even from loopback");
    assertEquals(401, CodexClient.upgradeStatus(legato.url, Map.of("Authorization", "Bearer k3")), "an unknown key");
    assertEquals(101, CodexClient.upgradeStatus(legato.url, ALPHA));
    assertEquals(101, CodexClient.upgradeStatus(legato.url + "/ws", BETA));
    assertEquals(403, CodexClient.upgradeStatus(legato.url,
        Map.of("Authorization", "Bearer k1", "Origin", "https://evil.example.com")), "an origin not allowed");
    assertEquals(101, CodexClient.upgradeStatus(legato.url,
        Map.of("Authorization", "Bearer k1", "Origin", "https://console.example.com")));
  }

  @Test
  void aTenantCanNeitherSeeNorTouchAnotherTenantsThread() throws Exception {
    try (CodexClient alpha = legato.client(ALPHA); CodexClient beta = legato.client(BETA)) {
      String theirs = alpha.result("thread/start", params().put("model", "echo").put("name", "alpha secret"))
          .path("thread").path("id").asText();
      alpha.startTurn(theirs, "alpha's private words");
      alpha.untilTurnCompleted();
      alpha.drainFor(Duration.ofMillis(300)); // the turn's last status
      String own = beta.startThread("echo");

      JsonNode listed = beta.result("thread/list", params().put("limit", 200));
      assertTrue(listed.toString().contains(own));
      assertFalse(listed.toString().contains(theirs), "beta's listing holds only beta's threads: " + listed);
      assertTrue(beta.result("thread/list", params().put("searchTerm", "alpha")).path("data").isEmpty());
      assertTrue(beta.result("thread/list", params().put("archived", true)).path("data").isEmpty());

      String unknown = UUID.randomUUID().toString();
      List<ObjectNode> attempts = List.of(
          params().put("method", "thread/read").set("params", thread(theirs).put("includeTurns", true)),
          params().put("method", "thread/resume").set("params", thread(theirs)),
          params().put("method", "turn/start").set("params", thread(theirs).put("text", "beta was here")),
          params().put("method", "turn/steer").set("params", thread(theirs).put("content", "go left")),
          params().put("method", "turn/interrupt").set("params", thread(theirs)),
          params().put("method", "thread/name/set").set("params", thread(theirs).put("name", "beta's now")),
          params().put("method", "thread/archive").set("params", thread(theirs)),
          params().put("method", "thread/unarchive").set("params", thread(theirs)),
          params().put("method", "thread/delete").set("params", thread(theirs)));
      for (ObjectNode attempt : attempts) {
        String name = attempt.path("method").asText();
        JsonNode refused = beta.call(name, (ObjectNode) attempt.get("params"));
        assertTrue(refused.has("error"), name + " on another tenant's thread must fail: " + refused);
        JsonNode missing = beta.call(name, ((ObjectNode) attempt.get("params").deepCopy()).put("threadId", unknown));
        assertEquals(missing.path("error").path("message").asText().replace(unknown, theirs),
            refused.path("error").path("message").asText(),
            name + ": another tenant's thread looks exactly like one that does not exist");
      }
      assertFalse(beta.result("thread/loaded/list", params()).toString().contains(theirs));

      // nothing changed for alpha: no turn started, no rename, not archived, not deleted, no notification
      List<JsonNode> heard = alpha.drainFor(Duration.ofMillis(500));
      assertTrue(heard.isEmpty(), "alpha heard nothing of beta's attempts: " + heard);
      JsonNode read = alpha.result("thread/read", thread(theirs).put("includeTurns", true)).path("thread");
      assertEquals(1, read.path("turns").size(), read.toString());
      assertEquals("alpha secret", read.path("name").asText());
      assertTrue(alpha.result("thread/list", params()).toString().contains(theirs), "still listed, not archived");
      assertFalse(alpha.result("thread/list", params()).toString().contains(own), "and alpha cannot see beta's");
      alpha.startTurn(theirs, "still mine");
      alpha.untilTurnCompleted();
    }
  }

  @Test
  void theOperationsRoutesAreAnOperatorsWhileHealthStaysOpen() throws Exception {
    for (String path : List.of("/metrics", "/admin/threads", "/admin/threads/" + UUID.randomUUID(), "/admin/cluster")) {
      assertEquals(401, get(path, Map.of()).statusCode(), path + " without credentials, even from loopback");
      assertEquals(403, get(path, ALPHA).statusCode(), path + " with a tenant's key");
      assertEquals(403, get(path, bearer(token("alpha", false))).statusCode(), path + " with a tenant's token");
    }
    HttpResponse<String> metrics = get("/metrics", OPERATOR);
    assertEquals(200, metrics.statusCode());
    assertTrue(metrics.body().contains("legato_connections "), metrics.body());
    assertEquals(200, get("/metrics", bearer(token("alpha", true))).statusCode(), "a token with the admin claim");
    assertEquals(200, get("/admin/threads", OPERATOR).statusCode());
    JsonNode cluster = CodexClient.JSON.readTree(get("/admin/cluster", OPERATOR).body());
    assertEquals(1, cluster.path("members").size(), "a node of its own: " + cluster);
    assertEquals("Up", cluster.path("members").get(0).path("status").asText(), cluster.toString());
    assertEquals(cluster.path("self").asText(), cluster.path("leader").asText(), cluster.toString());
    assertTrue(cluster.path("sharding").path("threads").has(cluster.path("self").asText()),
        "the spare threads the registry prepared are on this node: " + cluster);
    assertEquals(400, get("/admin/cluster?verbose=1", OPERATOR).statusCode(), "it takes no parameters");

    assertEquals(200, get("/healthz", Map.of()).statusCode());
    assertEquals(200, get("/readyz", Map.of()).statusCode());
    String management = "http://127.0.0.1:" + legato.gateway.managementPort();
    assertEquals(200, send(HttpRequest.newBuilder(URI.create(management + "/alive"))).statusCode());
    assertEquals(200, send(HttpRequest.newBuilder(URI.create(management + "/ready"))).statusCode());
    assertEquals("auth: API keys (2 tenants), JWT (HS256), admin keys: 1, anonymous loopback: off (auto)",
        legato.gateway.auth().describe(), "what ./legato run prints");
  }

  @Test
  void anOperatorSeesEveryTenantsThreadsAndATenantIsTurnedAway() throws Exception {
    try (CodexClient alpha = legato.client(ALPHA); CodexClient beta = legato.client(BETA)) {
      String alphas = alpha.startThread("echo");
      String betas = beta.startThread("echo");
      String listed = get("/admin/threads", OPERATOR).body();
      assertTrue(listed.contains(alphas) && listed.contains(betas), listed);
      JsonNode one = CodexClient.JSON.readTree(get("/admin/threads/" + alphas, OPERATOR).body());
      assertEquals("alpha", one.path("tenant").asText(), one.toString());
      assertEquals(legato.gateway.system().address().toString(), one.path("node").asText(), "where it lives: " + one);
      assertEquals("echo", one.path("agentType").asText(), one.toString());

      HttpResponse<String> refused = get("/admin/threads/" + alphas, BETA);
      assertEquals(403, refused.statusCode());
      assertFalse(refused.body().contains("alpha"), refused.body());
      assertEquals(403, get("/admin/threads/" + betas, BETA).statusCode(), "not even its own: thread/read is for that");
    }
  }

  @Test
  void anUnknownThreadIdIsNotFoundAndCreatesNothing() throws Exception {
    UUID unknown = UUID.randomUUID();
    HttpResponse<String> missing = get("/admin/threads/" + unknown, OPERATOR);
    assertEquals(404, missing.statusCode(), missing.body());
    assertEquals(404, get("/admin/threads/" + unknown, bearer(token("ops", true))).statusCode());
    for (String method : List.of("POST", "PUT", "DELETE")) {
      int status = send(HttpRequest.newBuilder(URI.create(http("/admin/threads/" + unknown)))
          .headers("Authorization", "Bearer k0").method(method, HttpRequest.BodyPublishers.noBody())).statusCode();
      assertEquals(405, status, method);
    }
    assertEquals(400, get("/admin/threads/1-2-3-4-5", OPERATOR).statusCode(), "only canonical ids");
    assertEquals(400, get("/admin/threads/not-a-thread", OPERATOR).statusCode());

    try (CodexClient beta = legato.client(BETA)) {
      for (String method : List.of("thread/read", "thread/resume", "turn/start", "thread/archive", "thread/delete")) {
        JsonNode refused = beta.call(method, thread(unknown.toString()).put("text", "hello?"));
        assertTrue(refused.has("error"), method + ": " + refused);
      }
    }
    Thread.sleep(300); // an entity started by mistake would have created its folder by now
    Path folder = Path.of(legato.gateway.system().settings().config().getString("legato.storage.data-dir"))
        .resolve("sessions").resolve(unknown.toString());
    assertFalse(Files.exists(folder), "no files for a thread that never existed: " + folder);
    assertFalse(get("/admin/threads", OPERATOR).body().contains(unknown.toString()), "and no live entity");
  }

  @Test
  void badQueryParametersAreRefusedNamingThem() throws Exception {
    for (String query : List.of("limit=abc", "limit=0", "limit=-3", "limit=10001", "limit=1.5", "limit=",
        "limit=99999999999", "limit=1&limit=2")) {
      HttpResponse<String> refused = get("/admin/threads?" + query, OPERATOR);
      assertEquals(400, refused.statusCode(), query + ": " + refused.body());
      assertTrue(refused.body().contains("'limit'"), query + ": " + refused.body());
    }
    HttpResponse<String> typo = get("/admin/threads?lmit=5", OPERATOR);
    assertEquals(400, typo.statusCode());
    assertTrue(typo.body().contains("'lmit'"), typo.body());
    HttpResponse<String> extra = get("/admin/threads/" + UUID.randomUUID() + "?verbose=1", OPERATOR);
    assertEquals(400, extra.statusCode());
    assertTrue(extra.body().contains("'verbose'"), extra.body());

    try (CodexClient alpha = legato.client(ALPHA)) {
      alpha.startThread("echo");
      alpha.startThread("echo");
      HttpResponse<String> one = get("/admin/threads?limit=1", OPERATOR);
      assertEquals(200, one.statusCode(), one.body());
      assertEquals(1, CodexClient.JSON.readTree(one.body()).path("threads").size(), one.body());
    }
  }

  @Test
  void initializeNamesNoDirectoryOfTheServer() throws Exception {
    String data = legato.gateway.system().settings().config().getString("legato.storage.data-dir");
    try (CodexClient client = new CodexClient(legato.url, ALPHA)) {
      ObjectNode hello = params();
      hello.putObject("clientInfo").put("name", "legato-test").put("version", "1").putNull("title");
      String home = client.result("initialize", hello).path("codexHome").asText();
      assertEquals("/legato", home);
      client.sendRaw("{\"method\":\"initialized\"}");
      ObjectNode write = params();
      write.putArray("edits");
      JsonNode written = client.result("config/batchWrite", write);
      assertEquals("/legato/config.toml", written.path("filePath").asText(), written.toString());
      assertFalse(written.toString().contains(data), written.toString());
    }
  }

  static String http(String path) {
    return "http://127.0.0.1:" + legato.gateway.port() + path;
  }

  static HttpResponse<String> get(String path, Map<String, String> headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(http(path)));
    headers.forEach(request::header);
    return send(request);
  }

  static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return HttpClient.newHttpClient().send(request.timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static Map<String, String> bearer(String token) {
    return Map.of("Authorization", "Bearer " + token);
  }

  /** An HS256 token for {@code tenant}, an operator's when {@code admin}. */
  static String token(String tenant, boolean admin) throws Exception {
    JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("ada").claim("tenant", tenant)
        .claim("legato_admin", admin).expirationTime(Date.from(Instant.now().plusSeconds(300))).build();
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
    jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    return jwt.serialize();
  }
}
