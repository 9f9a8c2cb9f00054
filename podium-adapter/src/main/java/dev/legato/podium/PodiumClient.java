package dev.legato.podium;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.pattern.CircuitBreaker;
import org.apache.pekko.pattern.CircuitBreakerOpenException;
import org.apache.pekko.pattern.Patterns;

/**
 * Podium's REST API as typed calls: create, look up and delete instances, and resolve an agent type to its
 * latest deployment. Every call has a deadline and goes through one circuit breaker; idempotent calls are
 * retried with exponential backoff and jitter. Failures arrive as {@link PodiumException}s.
 */
public final class PodiumClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ClassicActorSystemProvider system;
  private final PodiumSettings settings;
  private final String baseUrl;
  private final Http http;
  private final org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings pool;
  private final CircuitBreaker breaker;
  private final Map<String, CachedDeployment> deploymentCache = new ConcurrentHashMap<>();
  private final java.net.http.HttpClient socketClient = java.net.http.HttpClient.newBuilder()
      .connectTimeout(java.time.Duration.ofSeconds(10)).build();

  public PodiumClient(ClassicActorSystemProvider system, PodiumSettings settings) {
    this.system = system;
    this.settings = settings;
    this.baseUrl = settings.baseUrl();
    this.http = Http.get(system);
    // Many threads start at once (a burst of instance creations): queue them instead of failing past
    // Pekko HTTP's default of 32 open requests per host.
    org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings defaults =
        org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings.create(system.classicSystem());
    this.pool = defaults.withMaxOpenRequests(settings.maxOpenRequests()).withMaxConnections(settings.maxConnections());
    this.breaker = CircuitBreaker.create(system.classicSystem().scheduler(), settings.breakerMaxFailures(),
        settings.requestTimeout().plusSeconds(1), settings.breakerResetTimeout());
    // Once per incident, not once per refused call.
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(PodiumClient.class);
    breaker.addOnOpenListener(() -> log.warn("Podium at {} failed {} times in a row: its calls now fail at once"
        + " (circuit breaker open) and are tried again after {} s", baseUrl, settings.breakerMaxFailures(),
        settings.breakerResetTimeout().toSeconds()));
    breaker.addOnCloseListener(() -> log.info("Podium at {} answers again (circuit breaker closed)", baseUrl));
  }

  /** An instance as Podium describes it; {@code configJson} is the config it was created with. */
  public record Instance(String instanceId, String agentId, String deploymentId, InstanceStatus status, String configJson) {}

  public record Deployment(String deploymentId, String agentType, String version, String checksum) {}

  /** Creates an agent instance; never retried (it is not idempotent). */
  public CompletionStage<Instance> createInstance(String deploymentId, Map<String, ?> config, Map<String, String> secrets) {
    ObjectNode body = JSON.createObjectNode();
    body.put("deployment_id", deploymentId);
    body.set("config", JSON.valueToTree(config));
    body.set("secrets", JSON.valueToTree(secrets));
    HttpRequest request = request(HttpMethods.POST, "/api/v1/instances")
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body.toString()));
    return call(request, false, status -> status == 404 ? new PodiumException.DeploymentNotFound(deploymentId) : null)
        .thenApply(json -> {
          String instanceId = text(json, "instance_id");
          if (instanceId == null) {
            throw new PodiumException.UnexpectedResponse("created instance without instance_id: " + json);
          }
          return new Instance(instanceId, text(json, "agent_id"), orElse(text(json, "deployment_id"), deploymentId),
              InstanceStatus.parse(text(json, "status")), json.path("config").isMissingNode() ? null : json.get("config").toString());
        });
  }

  /** The instance's current description; fails with {@link PodiumException.InstanceNotFound} when it is gone. */
  public CompletionStage<Instance> instance(String instanceId) {
    return call(request(HttpMethods.GET, "/api/v1/instances/" + encode(instanceId)), true,
        status -> status == 404 ? new PodiumException.InstanceNotFound(instanceId) : null)
        .thenApply(json -> new Instance(orElse(text(json, "instance_id"), instanceId), text(json, "agent_id"),
            text(json, "deployment_id"), InstanceStatus.parse(text(json, "status")),
            json.path("config").isMissingNode() ? null : json.get("config").toString()));
  }

  /** Deletes an instance; one that is already gone counts as deleted. */
  public CompletionStage<Done> deleteInstance(String instanceId) {
    return call(request(HttpMethods.DELETE, "/api/v1/instances/" + encode(instanceId)), true,
        status -> status == 404 ? new AlreadyGone() : null)
        .handle((json, error) -> {
          if (error == null || unwrap(error) instanceof AlreadyGone) {
            return Done.getInstance();
          }
          throw error instanceof CompletionException ce ? ce : new CompletionException(error);
        });
  }

  /** The deployments Podium lists for an agent type. */
  public CompletionStage<List<Deployment>> deployments(String agentType) {
    return call(request(HttpMethods.GET, "/api/v1/deployments?agent_type=" + encode(agentType)), true,
        status -> status == 404 || status == 405 ? new NoListing() : null)
        .thenApply(json -> {
          List<Deployment> deployments = new ArrayList<>();
          for (JsonNode d : json.path("deployments")) {
            String type = orElse(text(d, "agent_type"), agentType);
            if (type.equals(agentType) && text(d, "deployment_id") != null) {
              deployments.add(new Deployment(text(d, "deployment_id"), type, orElse(text(d, "version"), ""), text(d, "checksum")));
            }
          }
          return deployments;
        });
  }

  /**
   * The deployment id to start for an agent type: the highest semantic version Podium lists, else the
   * configured static entry, else {@code <agentType>:latest} when Podium has no listing at all. Cached for
   * {@code deployment-cache-ttl}.
   */
  public CompletionStage<String> resolveDeployment(String agentType) {
    CachedDeployment cached = deploymentCache.get(agentType);
    if (cached != null && cached.expiresAtNanos - System.nanoTime() > 0) {
      return CompletableFuture.completedFuture(cached.deploymentId);
    }
    return deployments(agentType)
        .thenApply(list -> list.stream()
            .max(Comparator.comparing((Deployment d) -> SemanticVersion.parse(d.version())))
            .map(Deployment::deploymentId)
            .or(() -> Optional.ofNullable(settings.staticDeployments().get(agentType)))
            .orElseThrow(() -> new PodiumException.DeploymentNotFound("for agent type '" + agentType + "'")))
        .exceptionally(error -> {
          if (unwrap(error) instanceof NoListing) {
            return settings.staticDeployments().getOrDefault(agentType, agentType + ":latest");
          }
          throw error instanceof CompletionException ce ? ce : new CompletionException(unwrap(error));
        })
        .thenApply(id -> {
          deploymentCache.put(agentType, new CachedDeployment(id, System.nanoTime() + settings.deploymentCacheTtl().toNanos()));
          return id;
        });
  }

  /** The URL of an instance's native WebSocket. */
  public String agentSocketUrl(String instanceId) {
    return baseUrl.replaceFirst("^http", "ws") + "/agent/" + encode(instanceId);
  }

  public Optional<String> apiKey() {
    return settings.apiKey();
  }

  public PodiumSettings settings() {
    return settings;
  }

  /** The JDK HTTP client the links' WebSockets use (one per PodiumClient: it owns threads). */
  java.net.http.HttpClient socketClient() {
    return socketClient;
  }

  // ---- the call machinery -------------------------------------------------------------------------------

  private record CachedDeployment(String deploymentId, long expiresAtNanos) {}

  /** Marks a 404 on delete: success. */
  private static final class AlreadyGone extends RuntimeException {
    AlreadyGone() {
      super(null, null, false, false);
    }
  }

  /** Marks a Podium without a deployment listing (404/405). */
  private static final class NoListing extends RuntimeException {
    NoListing() {
      super(null, null, false, false);
    }
  }

  @FunctionalInterface
  private interface StatusMapping {
    /** The failure for a non-2xx status this call expects, or null for the default handling. */
    RuntimeException failureFor(int status);
  }

  private HttpRequest request(org.apache.pekko.http.javadsl.model.HttpMethod method, String path) {
    HttpRequest request = HttpRequest.create(baseUrl + path).withMethod(method);
    return settings.apiKey().map(key -> request.addHeader(Authorization.oauth2(key))).orElse(request);
  }

  private CompletionStage<JsonNode> call(HttpRequest request, boolean idempotent, StatusMapping expected) {
    if (!idempotent) {
      return attempt(request, expected);
    }
    return Patterns.retry(() -> attempt(request, expected),
        (result, error) -> error != null && retryable(unwrap(error)),
        settings.retryAttempts(), settings.retryMinBackoff(), settings.retryMaxBackoff(),
        settings.retryRandomFactor(), system);
  }

  private static boolean retryable(Throwable error) {
    return error instanceof PodiumException.Unavailable && !(error.getCause() instanceof CircuitBreakerOpenException);
  }

  /** One try, through the circuit breaker; only "unavailable" outcomes count against it. */
  private CompletionStage<JsonNode> attempt(HttpRequest request, StatusMapping expected) {
    CompletionStage<JsonNode> guarded = breaker.callWithCircuitBreakerCS(
        () -> send(request, expected),
        (result, error) -> error.isPresent() && unwrap(error.get()) instanceof PodiumException.Unavailable);
    return guarded.exceptionally(error -> {
      Throwable cause = unwrap(error);
      if (cause instanceof CircuitBreakerOpenException open) {
        throw new PodiumException.Unavailable("circuit breaker open after repeated failures", open);
      }
      throw cause instanceof RuntimeException runtime ? runtime : new CompletionException(cause);
    });
  }

  private CompletionStage<JsonNode> send(HttpRequest request, StatusMapping expected) {
    long timeoutMillis = settings.requestTimeout().toMillis();
    return http.singleRequest(request, http.defaultClientHttpsContext(), pool, system.classicSystem().log())
        .thenCompose(response -> response.entity().toStrict(timeoutMillis, system)
            .thenApply(strict -> interpret(request, response, strict.getData().utf8String(), expected)))
        .toCompletableFuture()
        .orTimeout(timeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS)
        .exceptionally(error -> {
          Throwable cause = unwrap(error);
          if (cause instanceof PodiumException || cause instanceof AlreadyGone || cause instanceof NoListing) {
            throw (RuntimeException) cause;
          }
          String what = cause instanceof TimeoutException ? "no answer within " + settings.requestTimeout()
              : cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
          throw new PodiumException.Unavailable(request.method().value() + " " + request.getUri().path() + ": " + what, cause);
        });
  }

  private static JsonNode interpret(HttpRequest request, HttpResponse response, String body, StatusMapping expected) {
    int status = response.status().intValue();
    String call = request.method().value() + " " + request.getUri().path();
    if (status >= 200 && status < 300) {
      if (body.isBlank()) {
        return JSON.createObjectNode();
      }
      try {
        return JSON.readTree(body);
      } catch (JsonProcessingException e) {
        throw new PodiumException.UnexpectedResponse(call + " answered " + status + " with a body that is not JSON");
      }
    }
    RuntimeException mapped = expected.failureFor(status);
    if (mapped != null) {
      throw mapped;
    }
    if (status == 401 || status == 403) {
      throw new PodiumException.Unauthorized(call + " answered " + status);
    }
    if (status >= 500 || status == 429) {
      throw new PodiumException.Unavailable(call + " answered " + status + abbreviate(body), null);
    }
    throw new PodiumException.UnexpectedResponse(call + " answered " + status + abbreviate(body));
  }

  private static String abbreviate(String body) {
    if (body.isBlank()) {
      return "";
    }
    return ": " + (body.length() > 200 ? body.substring(0, 200) + "…" : body);
  }

  /** The cause inside CompletionException and ExecutionException wrappers. */
  public static Throwable unwrap(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof java.util.concurrent.ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }

  private static String orElse(String value, String fallback) {
    return value != null ? value : fallback;
  }

  private static String encode(String segment) {
    return URLEncoder.encode(segment, StandardCharsets.UTF_8);
  }
}
