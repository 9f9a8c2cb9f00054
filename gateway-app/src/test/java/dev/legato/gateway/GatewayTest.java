package dev.legato.gateway;

import static dev.legato.gateway.CodexClient.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Legato end to end over real WebSockets: the emulator as Podium, SQLite files, every message schema-checked. */
class GatewayTest {
  @RegisterExtension
  static final LegatoUnderTest legato = LegatoUnderTest.with(Map.of());

  static CodexClient client() throws Exception {
    return legato.client();
  }

  @Test
  void healthAndReadinessAnswerOnTheSamePort() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + legato.gateway.port();
    assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());
    assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base + "/readyz")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());
    assertEquals(400, http.send(HttpRequest.newBuilder(URI.create(base + "/")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode(), "a plain GET at / is not a WebSocket");
  }

  @Test
  void operatorsSeeMetricsThreadsAndManagementHealth() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + legato.gateway.port();
    String threadId;
    try (CodexClient client = client()) {
      threadId = client.result("thread/start", params().put("model", "echo")).path("thread").path("id").asText();
      client.result("turn/start", params().put("threadId", threadId).put("text", "count me"));
      client.until(m -> "turn/completed".equals(m.path("method").asText()));

      String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(metrics.contains("legato_connections "), "open connections: " + metrics);
      assertTrue(metrics.matches("(?s).*legato_threads\\{phase=\"ready\"} [1-9].*"), "threads by phase");
      assertTrue(metrics.matches("(?s).*legato_turns_ended_total\\{outcome=\"completed\"} [1-9].*"), "turns");
      assertTrue(metrics.matches("(?s).*legato_deltas_total [1-9].*"), "deltas");
      assertTrue(metrics.contains("legato_requests_total{method=\"turn/start\"}"), "requests by method");
      assertTrue(metrics.contains("jvm_memory_used_bytes"), "the JVM's own");

      JsonNode threads = CodexClient.JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/admin/threads"))
          .build(), HttpResponse.BodyHandlers.ofString()).body());
      JsonNode mine = null;
      for (JsonNode thread : threads.path("threads")) {
        if (thread.path("threadId").asText().equals(threadId)) {
          mine = thread;
        }
      }
      assertTrue(mine != null, "the thread is listed: " + threads);
      assertEquals("ready", mine.path("turnState").asText());
      assertEquals(1, mine.path("subscribers").asInt(), "this client follows it");
      assertTrue(mine.path("lastSequenceNr").asLong() >= 4, mine.toString());
      JsonNode one = CodexClient.JSON.readTree(http.send(HttpRequest.newBuilder(
          URI.create(base + "/admin/threads/" + threadId)).build(), HttpResponse.BodyHandlers.ofString()).body());
      assertEquals("echo", one.path("agentType").asText());
      assertTrue(one.path("instanceStatus").asText().length() > 0, one.toString());
      // its files are replicated (to <data>/replicas by default): where each stands
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (one.path("replicas").path("session.db").path("generation").isNull()
          || one.path("replicas").path("session.db").path("generation").isMissingNode()) {
        assertTrue(System.nanoTime() < deadline, "the thread's session.db was shipped: " + one);
        Thread.sleep(100);
        one = CodexClient.JSON.readTree(http.send(HttpRequest.newBuilder(
            URI.create(base + "/admin/threads/" + threadId)).build(), HttpResponse.BodyHandlers.ofString()).body());
      }
      assertTrue(one.path("replicas").path("session.db").path("generation").asText().matches("[0-9a-f]{16}"), one.toString());
      assertTrue(one.path("replicas").path("target").asText().endsWith("replicas"), one.toString());
      String shipped = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(shipped.matches("(?s).*legato_replica_requests_total [1-9].*"), "replica uploads counted");
      assertTrue(shipped.contains("legato_replica_lag_seconds{quantile=\"0.99\"}"), "replica lag");
      assertEquals(400, http.send(HttpRequest.newBuilder(URI.create(base + "/admin/threads/nope")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode());
    }
    String management = "http://127.0.0.1:" + legato.gateway.managementPort();
    assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(management + "/alive")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());
    assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(management + "/ready")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());
  }

  @Test
  void theHandshakeAndBootstrapAnswerWhatTheCodexTuiAsks() throws Exception {
    try (CodexClient client = new CodexClient(legato.url + "/ws")) {
      JsonNode early = client.call("account/read", params());
      assertEquals("Not initialized", early.path("error").path("message").asText());
      client.initialize();
      JsonNode again = client.call("initialize", params().set("clientInfo",
          params().put("name", "x").put("version", "1")));
      assertEquals("Already initialized", again.path("error").path("message").asText());

      assertFalse(client.result("account/read", params()).path("requiresOpenaiAuth").asBoolean(true));
      String project = Path.of(System.getProperty("java.io.tmpdir"), "legato-project").toString();
      JsonNode config = client.result("config/read", params().put("includeLayers", false).put("cwd", project));
      assertEquals("trusted", config.path("config").path("projects").path(project).path("trust_level").asText());
      JsonNode models = client.result("model/list", params().put("includeHidden", true));
      assertTrue(models.path("data").size() >= 1);
      assertEquals("coder", models.path("data").get(0).path("id").asText());
      assertTrue(models.path("data").get(0).path("isDefault").asBoolean());
      assertTrue(client.result("configRequirements/read", params()).path("requirements").isNull());
      for (String method : List.of("collaborationMode/list", "hooks/list", "skills/list", "plugin/installed",
          "experimentalFeature/list", "thread/loaded/list", "account/rateLimits/read",
          "account/bedrock/checkGovCloudRequirements")) {
        client.result(method, params()); // schema-checked by the client
      }
      JsonNode unknown = client.call("no/such/method", params());
      assertTrue(unknown.path("error").path("message").asText().contains("no/such/method"));
    }
  }

  @Test
  void aTurnStreamsTheAgentsAnswerToTheClient() throws Exception {
    try (CodexClient client = client()) {
      JsonNode started = client.result("thread/start", params().put("model", "echo").put("cwd", "/work"));
      String threadId = started.path("thread").path("id").asText();
      UUID.fromString(threadId);
      assertEquals(threadId, client.notification("thread/started").path("params").path("thread").path("id").asText());

      ObjectNode turn = params().put("threadId", threadId);
      turn.putArray("input").addObject().put("type", "text").put("text", "hello over the wire");
      JsonNode accepted = client.result("turn/start", turn);
      String turnId = accepted.path("turn").path("id").asText();

      List<JsonNode> stream = client.until(m -> "turn/completed".equals(m.path("method").asText()));
      StringBuilder text = new StringBuilder();
      for (JsonNode message : stream) {
        if ("item/agentMessage/delta".equals(message.path("method").asText())) {
          text.append(message.path("params").path("delta").asText());
        }
      }
      assertTrue(text.toString().contains("hello over the wire"), text.toString());
      JsonNode completed = stream.get(stream.size() - 1).path("params").path("turn");
      assertEquals(turnId, completed.path("id").asText());
      assertEquals("completed", completed.path("status").asText());
      assertTrue(stream.stream().anyMatch(m -> "item/completed".equals(m.path("method").asText())
          && "agentMessage".equals(m.path("params").path("item").path("type").asText())));
    }
  }

  @Test
  void aCommandApprovalIsAskedOfTheClientAndItsAnswerRunsTheCommand() throws Exception {
    try (CodexClient client = client()) {
      String threadId = client.result("thread/start", params().put("model", "coder")).path("thread").path("id").asText();
      ObjectNode turn = params().put("threadId", threadId);
      turn.putArray("input").addObject().put("type", "text").put("text", "/run echo approved-output");
      client.result("turn/start", turn);
      JsonNode request = client.serverRequest("item/commandExecution/requestApproval");
      assertEquals("echo approved-output", request.path("params").path("command").asText());
      client.answer(request, params().put("decision", "accept"));
      List<JsonNode> rest = client.until(m -> "turn/completed".equals(m.path("method").asText()));
      assertTrue(rest.stream().anyMatch(m -> "serverRequest/resolved".equals(m.path("method").asText())));
      StringBuilder output = new StringBuilder();
      rest.stream().filter(m -> "item/commandExecution/outputDelta".equals(m.path("method").asText()))
          .forEach(m -> output.append(m.path("params").path("delta").asText()));
      assertTrue(output.toString().contains("approved-output"), output.toString());
    }
  }

  @Test
  void theTurnsOfAThreadArePagedNewestFirstAsTheTuiAsksForThem() throws Exception {
    try (CodexClient client = client()) {
      String threadId = client.result("thread/start", params().put("model", "echo")).path("thread").path("id").asText();
      for (String text : List.of("first words", "second words", "third words")) {
        client.result("turn/start", params().put("threadId", threadId).put("text", text));
        client.until(m -> "turn/completed".equals(m.path("method").asText()));
      }
      // The TUI's own call for each thread it lists: the latest turn only.
      JsonNode latest = client.result("thread/turns/list", params().put("threadId", threadId).put("limit", 1)
          .putNull("cursor").putNull("sortDirection").putNull("itemsView"));
      assertEquals(1, latest.path("data").size());
      assertTrue(latest.path("data").get(0).toString().contains("third words"), latest.toString());
      JsonNode rest = client.result("thread/turns/list", params().put("threadId", threadId)
          .put("cursor", latest.path("nextCursor").asText()));
      assertEquals(2, rest.path("data").size());
      assertTrue(rest.path("data").get(1).toString().contains("first words"), rest.toString());
      assertTrue(rest.path("nextCursor").isNull());
      JsonNode oldest = client.result("thread/turns/list", params().put("threadId", threadId)
          .put("sortDirection", "asc").put("limit", 1));
      assertTrue(oldest.path("data").get(0).toString().contains("first words"), oldest.toString());
      assertEquals(-32602, client.call("thread/turns/list", params().put("threadId", threadId).put("cursor", "x"))
          .path("error").path("code").asInt());
    }
  }

  @Test
  void badInputGetsClearErrorsAndTheConnectionSurvives() throws Exception {
    try (CodexClient client = client()) {
      client.sendRaw("{not json");
      JsonNode parse = client.next(m -> m.has("error"));
      assertEquals(-32700, parse.path("error").path("code").asInt());
      assertEquals(-32602, client.call("turn/start", params().put("threadId", "not-a-uuid")
          .put("text", "hi")).path("error").path("code").asInt());
      JsonNode unknown = client.call("thread/resume", params().put("threadId", UUID.randomUUID().toString()));
      assertTrue(unknown.has("error"), unknown.toString());
      assertEquals(-32602, client.call("turn/start", params()).path("error").path("code").asInt());
      String threadId = client.result("thread/start", params().put("model", "coder")).path("thread").path("id").asText();
      ObjectNode slow = params().put("threadId", threadId).put("text", "/slow /long 40 busy");
      client.result("turn/start", slow);
      JsonNode second = client.call("turn/start", params().put("threadId", threadId).put("text", "again"));
      assertTrue(second.path("error").path("message").asText().contains("still running"), second.toString());
      assertTrue(client.result("account/read", params()).has("account"), "the connection still serves");
    }
  }

  @Test
  void aSecondClientResumingAThreadGetsItsHistoryThenLiveEvents() throws Exception {
    String threadId;
    try (CodexClient first = client()) {
      threadId = first.result("thread/start", params().put("model", "echo")).path("thread").path("id").asText();
      first.result("turn/start", params().put("threadId", threadId).put("text", "remember the harbour"));
      first.until(m -> "turn/completed".equals(m.path("method").asText()));
    }
    try (CodexClient second = client()) {
      JsonNode resumed = second.result("thread/resume", params().put("threadId", threadId));
      JsonNode turns = resumed.path("thread").path("turns");
      assertEquals(1, turns.size());
      assertTrue(turns.get(0).toString().contains("remember the harbour"), turns.toString());
      second.result("turn/start", params().put("threadId", threadId).put("text", "and again"));
      second.until(m -> "turn/completed".equals(m.path("method").asText()));
      JsonNode listed = second.result("thread/list", params());
      assertTrue(listed.toString().contains(threadId));
    }
  }

  @Test
  void aForkStartsWithTheSourcesTurnsAndItsAgentKnowsThem() throws Exception {
    try (CodexClient client = client()) {
      String source = client.result("thread/start", params().put("model", "echo")).path("thread").path("id").asText();
      client.result("turn/start", params().put("threadId", source).put("text", "the lighthouse keeper"));
      client.until(m -> "turn/completed".equals(m.path("method").asText()));

      JsonNode fork = client.result("thread/fork", params().put("threadId", source)).path("thread");
      String forkId = fork.path("id").asText();
      assertFalse(forkId.equals(source));
      assertEquals(source, fork.path("forkedFromId").asText());
      assertEquals(1, fork.path("turns").size(), "the fork shows the source's turn");
      assertTrue(fork.path("turns").toString().contains("the lighthouse keeper"));

      client.result("turn/start", params().put("threadId", forkId).put("text", "/history"));
      StringBuilder answer = new StringBuilder();
      client.until(m -> "turn/completed".equals(m.path("method").asText())).stream()
          .filter(m -> "item/agentMessage/delta".equals(m.path("method").asText()))
          .forEach(m -> answer.append(m.path("params").path("delta").asText()));
      assertTrue(answer.toString().contains("the lighthouse keeper"), "the fork's agent knows: " + answer);
      JsonNode sourceAgain = client.result("thread/read", params().put("threadId", source).put("includeTurns", true));
      assertEquals(1, sourceAgain.path("thread").path("turns").size(), "the source is unchanged");
    }
  }

  @Test
  void aForkThroughAGivenTurnLeavesOutTheTurnsAfterIt() throws Exception {
    try (CodexClient client = client()) {
      String source = client.result("thread/start", params().put("model", "echo")).path("thread").path("id").asText();
      String first = client.result("turn/start", params().put("threadId", source).put("text", "the first lamp"))
          .path("turn").path("id").asText();
      client.until(m -> "turn/completed".equals(m.path("method").asText()));
      client.result("turn/start", params().put("threadId", source).put("text", "the second lamp"));
      client.until(m -> "turn/completed".equals(m.path("method").asText()));

      JsonNode fork = client.result("thread/fork", params().put("threadId", source).put("lastTurnId", first))
          .path("thread");
      assertEquals(1, fork.path("turns").size(), fork.toString());
      assertTrue(fork.path("turns").toString().contains("the first lamp"));
      assertFalse(fork.path("turns").toString().contains("the second lamp"));
      String forkId = fork.path("id").asText();
      JsonNode read = client.result("thread/read", params().put("threadId", forkId).put("includeTurns", true));
      assertEquals(1, read.path("thread").path("turns").size(), "the fork's own journal holds that turn only");

      JsonNode bare = client.result("thread/fork", params().put("threadId", source).put("excludeTurns", true))
          .path("thread");
      assertEquals(0, bare.path("turns").size(), "excludeTurns: the client pages them with thread/turns/list");
      assertEquals(2, client.result("thread/read", params().put("threadId", bare.path("id").asText())
          .put("includeTurns", true)).path("thread").path("turns").size(), "yet the fork has both");

      JsonNode unknown = client.call("thread/fork", params().put("threadId", source).put("lastTurnId", "turn_nope"));
      assertEquals(-32602, unknown.path("error").path("code").asInt(), unknown.toString());
      assertTrue(unknown.path("error").path("message").asText().contains("turn_nope"));
    }
  }
}
