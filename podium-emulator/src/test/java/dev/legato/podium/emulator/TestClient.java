package dev.legato.podium.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A plain JDK HTTP client speaking to an emulator the way any Podium client would. */
final class TestClient {
  static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String baseUrl;
  private final String key;

  TestClient(String baseUrl, String key) {
    this.baseUrl = baseUrl;
    this.key = key;
  }

  TestClient(PodiumEmulator emulator) {
    this(emulator.baseUrl(), null);
  }

  TestClient withKey(String key) {
    return new TestClient(baseUrl, key);
  }

  HttpResponse<String> get(String path) {
    return send(request(path).GET());
  }

  HttpResponse<String> delete(String path) {
    return send(request(path).DELETE());
  }

  HttpResponse<String> post(String path, String json) {
    return send(request(path).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  HttpResponse<String> postMultipart(String path, String boundary, byte[] body) {
    return send(request(path).header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  /** Creates an instance and returns its id, failing the test unless the answer is 201. */
  String createInstance(String deploymentId, String configJson) {
    HttpResponse<String> response = post("/api/v1/instances",
        "{\"deployment_id\":\"" + deploymentId + "\",\"config\":" + configJson + ",\"secrets\":{}}");
    assertEquals(201, response.statusCode(), response.body());
    return json(response).get("instance_id").asText();
  }

  String createInstance(String deploymentId) {
    return createInstance(deploymentId, "{}");
  }

  String deploymentId(String agentType, String version) {
    for (JsonNode d : json(get("/api/v1/deployments?agent_type=" + agentType)).get("deployments")) {
      if (d.get("version").asText().equals(version)) {
        return d.get("deployment_id").asText();
      }
    }
    throw new AssertionError("no deployment " + agentType + " " + version);
  }

  AgentConnection connect(String instanceId) {
    return AgentConnection.open(http, URI.create(baseUrl.replaceFirst("^http", "ws") + "/agent/" + instanceId), key);
  }

  /** A connection that reads nothing until told to, like a client that cannot keep up. */
  AgentConnection connectWithoutReading(String instanceId) {
    return AgentConnection.open(http, URI.create(baseUrl.replaceFirst("^http", "ws") + "/agent/" + instanceId), key, false);
  }

  static JsonNode json(HttpResponse<String> response) {
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(10));
    if (key != null) {
      builder.header("Authorization", "Bearer " + key);
    }
    return builder;
  }

  private HttpResponse<String> send(HttpRequest.Builder builder) {
    try {
      return http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
