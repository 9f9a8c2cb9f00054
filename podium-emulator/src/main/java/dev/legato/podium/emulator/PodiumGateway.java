package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.Multipart;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of the emulator, as the Podium gateway presents it: authentication, the REST
 * calls of the contract, the native WebSocket upgrade, health, and the admin fault endpoint.
 * Every error answer is JSON: {@code {"error":{"code":"…","message":"…"}}}.
 */
final class PodiumGateway {
  private static final long STRICT_MILLIS = 10_000;
  private static final String INSTANCES = "/api/v1/instances";
  private static final String DEPLOYMENTS = "/api/v1/deployments";

  private static final Logger LOG = LoggerFactory.getLogger(PodiumGateway.class);

  private final EmulatorSettings settings;
  private final Deployments deployments;
  private final InstanceTable instances;
  private final Faults faults;
  private final Materializer materializer;

  PodiumGateway(EmulatorSettings settings, Deployments deployments, InstanceTable instances,
      Faults faults, Materializer materializer) {
    this.settings = settings;
    this.deployments = deployments;
    this.instances = instances;
    this.faults = faults;
    this.materializer = materializer;
  }

  CompletionStage<HttpResponse> handle(HttpRequest request) {
    try {
      return route(request).exceptionally(PodiumGateway::internalError);
    } catch (RuntimeException e) {
      request.discardEntityBytes(materializer);
      return CompletableFuture.completedFuture(internalError(e));
    }
  }

  private CompletionStage<HttpResponse> route(HttpRequest request) {
    String path = request.getUri().path();
    if (path.equals("/health")) {
      // open, like a load balancer's probe: it tells nothing about tenants
      request.discardEntityBytes(materializer);
      return done(json(200, Json.object().put("status", "ok")));
    }
    boolean admin = path.startsWith("/admin/")
        || (path.equals(DEPLOYMENTS) && request.method().equals(HttpMethods.POST));
    Optional<String> key = bearer(request);
    if (!(admin ? adminAllowed(key) : tenantAllowed(key))) {
      request.discardEntityBytes(materializer);
      return done(error(401, "unauthorized", admin
          ? "this call needs an admin key: Authorization: Bearer <admin key>"
          : "missing or invalid key: Authorization: Bearer <key>")
          .addHeader(RawHeader.create("WWW-Authenticate", "Bearer")));
    }
    if (path.startsWith("/api/")) {
      Duration latency = faults.restLatency();
      CompletionStage<Void> delayed = latency.isZero()
          ? CompletableFuture.completedFuture(null)
          : CompletableFuture.runAsync(() -> {}, CompletableFuture.delayedExecutor(latency.toNanos(), TimeUnit.NANOSECONDS));
      return delayed.thenCompose(ignored -> {
        if (faults.failNextCall()) {
          request.discardEntityBytes(materializer);
          return done(error(503, "unavailable", "Podium is unavailable (fault switch)"));
        }
        return api(request, path);
      });
    }
    if (path.startsWith("/agent/")) {
      Duration latency = faults.socketLatency();
      String instanceId = path.substring("/agent/".length());
      return latency.isZero() ? done(agentSocket(request, instanceId))
          : CompletableFuture.supplyAsync(() -> agentSocket(request, instanceId),
              CompletableFuture.delayedExecutor(latency.toNanos(), TimeUnit.NANOSECONDS));
    }
    if (path.equals("/admin/faults")) {
      return adminFaults(request);
    }
    request.discardEntityBytes(materializer);
    return done(error(404, "not_found", "no such route: " + path));
  }

  // ---- REST --------------------------------------------------------------------------------------

  private CompletionStage<HttpResponse> api(HttpRequest request, String path) {
    var method = request.method();
    if (path.equals(INSTANCES) && method.equals(HttpMethods.POST)) {
      return body(request).thenApply(this::createInstance);
    }
    if (path.startsWith(INSTANCES + "/") && path.indexOf('/', INSTANCES.length() + 1) < 0) {
      String id = path.substring(INSTANCES.length() + 1);
      request.discardEntityBytes(materializer);
      if (method.equals(HttpMethods.GET)) {
        return done(instances.find(id)
            .map(instance -> json(200, instance.toJson()))
            .orElseGet(() -> error(404, "instance_not_found", "no instance " + id)));
      }
      if (method.equals(HttpMethods.DELETE)) {
        return done(instances.delete(id)
            ? HttpResponse.create().withStatus(StatusCodes.NO_CONTENT)
            : error(404, "instance_not_found", "no instance " + id));
      }
      return done(error(405, "method_not_allowed", method.value() + " " + path));
    }
    if (path.equals(DEPLOYMENTS) && method.equals(HttpMethods.GET)) {
      request.discardEntityBytes(materializer);
      Optional<String> agentType = request.getUri().query().get("agent_type");
      ObjectNode answer = Json.object();
      ArrayNode list = answer.putArray("deployments");
      deployments.list(agentType).forEach(d -> list.add(d.toJson()));
      return done(json(200, answer));
    }
    if (path.equals(DEPLOYMENTS) && method.equals(HttpMethods.POST)) {
      return deploy(request);
    }
    if (path.equals(INSTANCES) || path.equals(DEPLOYMENTS)) {
      request.discardEntityBytes(materializer);
      return done(error(405, "method_not_allowed", method.value() + " " + path));
    }
    request.discardEntityBytes(materializer);
    return done(error(404, "not_found", "no such route: " + method.value() + " " + path));
  }

  private HttpResponse createInstance(String body) {
    JsonNode request;
    try {
      request = Json.read(body);
    } catch (IllegalArgumentException e) {
      return error(400, "bad_request", e.getMessage());
    }
    if (!request.isObject() || !request.path("deployment_id").isTextual()) {
      return error(400, "bad_request", "the body is a JSON object with a string \"deployment_id\"");
    }
    for (String field : new String[] {"config", "secrets"}) {
      if (request.has(field) && !request.get(field).isObject() && !request.get(field).isNull()) {
        return error(400, "bad_request", "\"" + field + "\" must be a JSON object");
      }
    }
    String deploymentId = request.get("deployment_id").asText();
    Optional<Deployment> deployment = deployments.find(deploymentId);
    if (deployment.isEmpty()) {
      return error(404, "deployment_not_found", "no deployment " + deploymentId);
    }
    ObjectNode config = request.path("config").isObject() ? (ObjectNode) request.get("config").deepCopy() : Json.object();
    // secrets are accepted and dropped: an emulator has nothing to keep them for
    Instance instance = instances.create(deployment.get(), config);
    LOG.info("instance {} created from {}", instance.id(), deployment.get().deploymentId());
    ObjectNode answer = Json.object();
    answer.put("instance_id", instance.id());
    answer.put("agent_id", instance.agentId());
    answer.put("status", instance.status().wireName());
    return json(201, answer);
  }

  private CompletionStage<HttpResponse> deploy(HttpRequest request) {
    return Unmarshaller.entityToMultipartFormData().unmarshal(request.entity(), materializer)
        .thenCompose(form -> form.toStrict(STRICT_MILLIS, materializer))
        .thenApply(this::register)
        .exceptionally(e -> error(400, "bad_request",
            "expected multipart/form-data with file, agent_type and version: " + rootMessage(e)));
  }

  private HttpResponse register(Multipart.FormData.Strict form) {
    Map<String, byte[]> parts = new HashMap<>();
    for (Multipart.FormData.BodyPart.Strict part : form.getStrictParts()) {
      parts.put(part.getName(), part.getEntity().getData().toArray());
    }
    if (!parts.containsKey("file") || !parts.containsKey("agent_type") || !parts.containsKey("version")) {
      return error(400, "bad_request", "multipart parts file, agent_type and version are required");
    }
    String agentType = new String(parts.get("agent_type"), StandardCharsets.UTF_8).trim();
    String version = new String(parts.get("version"), StandardCharsets.UTF_8).trim();
    if (!agentType.matches("[A-Za-z0-9_.-]{1,64}") || !version.matches("[A-Za-z0-9_.+-]{1,64}")) {
      return error(400, "bad_request", "agent_type and version are short words (letters, digits, . _ -)");
    }
    Deployment deployment = Deployment.of(agentType, version, parts.get("file"), Instant.now());
    if (!deployments.add(deployment)) {
      return error(409, "deployment_exists", agentType + " " + version + " is already deployed");
    }
    ObjectNode answer = deployment.toJson();
    answer.remove("created_at");
    return json(201, answer);
  }

  // ---- native WebSocket -------------------------------------------------------------------------

  private HttpResponse agentSocket(HttpRequest request, String instanceId) {
    Optional<WebSocketUpgrade> upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
    if (upgrade.isEmpty()) {
      request.discardEntityBytes(materializer);
      return error(400, "bad_request", "GET /agent/{instanceId} is a WebSocket upgrade");
    }
    Optional<Instance> instance = instances.find(instanceId)
        .filter(i -> i.status() != InstanceStatus.TERMINATED);
    if (instance.isEmpty()) {
      return error(404, "instance_not_found", "no running instance " + instanceId);
    }
    AgentSocket socket = new AgentSocket(instance.get(), settings, materializer);
    Instance.Attachment attachment = instance.get().attach(socket);
    if (!attachment.accepted()) {
      socket.close();
      return error(404, "instance_not_found", "instance " + instanceId + " is terminated");
    }
    if (attachment.replaced() != null) {
      // one socket per instance: the newer connection wins
      attachment.replaced().close();
      LOG.info("instance {}: a new socket replaces the open one", instanceId);
    } else {
      LOG.info("instance {}: socket opened", instanceId);
    }
    return upgrade.get().handleMessagesWith(socket.flow());
  }

  // ---- admin -------------------------------------------------------------------------------------

  private CompletionStage<HttpResponse> adminFaults(HttpRequest request) {
    if (request.method().equals(HttpMethods.GET)) {
      request.discardEntityBytes(materializer);
      return done(json(200, faults.toJson()));
    }
    if (!request.method().equals(HttpMethods.POST)) {
      request.discardEntityBytes(materializer);
      return done(error(405, "method_not_allowed", "GET or POST /admin/faults"));
    }
    return body(request).thenApply(this::applyFault);
  }

  private HttpResponse applyFault(String body) {
    JsonNode command;
    try {
      command = Json.read(body);
    } catch (IllegalArgumentException e) {
      return error(400, "bad_request", e.getMessage());
    }
    String action = command.path("action").asText("");
    String id = command.path("instance_id").asText("");
    boolean found;
    try {
      found = switch (action) {
        case "drop_socket" -> faults.dropSocket(id);
        case "kill_instance" -> faults.killInstance(id);
        case "malformed_frame" -> faults.sendMalformedFrame(id);
        case "unknown_kind_frame" -> faults.sendUnknownKindFrame(id);
        case "stall" -> faults.stall(id, Duration.ofMillis(requireLong(command, "millis")));
        case "fail_rest" -> {
          faults.failRestCalls(requireDouble(command, "share"));
          yield true;
        }
        case "rest_latency" -> {
          faults.restLatency(Duration.ofMillis(requireLong(command, "millis")));
          yield true;
        }
        case "socket_latency" -> {
          faults.socketLatency(Duration.ofMillis(requireLong(command, "millis")));
          yield true;
        }
        case "reset" -> {
          faults.reset();
          yield true;
        }
        default -> throw new IllegalArgumentException("unknown action '" + action + "'; one of drop_socket,"
            + " kill_instance, malformed_frame, unknown_kind_frame, stall, fail_rest, rest_latency, socket_latency, reset");
      };
    } catch (IllegalArgumentException e) {
      return error(400, "bad_request", e.getMessage());
    }
    if (!found) {
      return error(404, "instance_not_found", "no instance " + id + " (or it has no open socket)");
    }
    ObjectNode answer = faults.toJson();
    answer.put("applied", action);
    return json(200, answer);
  }

  private static long requireLong(JsonNode command, String field) {
    if (!command.path(field).canConvertToLong() || command.get(field).asLong() < 0) {
      throw new IllegalArgumentException("\"" + field + "\" must be a non-negative number");
    }
    return command.get(field).asLong();
  }

  private static double requireDouble(JsonNode command, String field) {
    if (!command.path(field).isNumber()) {
      throw new IllegalArgumentException("\"" + field + "\" must be a number");
    }
    return command.get(field).asDouble();
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  private CompletionStage<String> body(HttpRequest request) {
    return request.entity().toStrict(STRICT_MILLIS, materializer)
        .thenApply(strict -> strict.getData().utf8String());
  }

  /**
   * Accepts the key when it is a tenant key, or an admin key, or when no tenant key is configured
   * (open mode).
   */
  private boolean tenantAllowed(Optional<String> key) {
    return settings.tenantKeys().isEmpty()
        || key.filter(k -> settings.tenantKeys().contains(k) || settings.adminKeys().contains(k)).isPresent();
  }

  /** Admin calls need an admin key when admin keys are configured, else what tenant calls need. */
  private boolean adminAllowed(Optional<String> key) {
    return settings.adminKeys().isEmpty()
        ? tenantAllowed(key)
        : key.filter(settings.adminKeys()::contains).isPresent();
  }

  private static Optional<String> bearer(HttpRequest request) {
    return request.getHeader("Authorization")
        .map(HttpHeader::value)
        .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
        .map(v -> v.substring(7).trim());
  }

  private static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }

  static HttpResponse json(int status, JsonNode body) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(ContentTypes.APPLICATION_JSON, Json.write(body).getBytes(StandardCharsets.UTF_8));
  }

  static HttpResponse error(int status, String code, String message) {
    ObjectNode body = Json.object();
    body.putObject("error").put("code", code).put("message", message);
    return json(status, body);
  }

  private static HttpResponse internalError(Throwable e) {
    return error(500, "internal", rootMessage(e));
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return String.valueOf(root.getMessage());
  }
}
