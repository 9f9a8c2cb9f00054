package dev.legato.gateway.auth;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Pekko HTTP adapter on a real server on loopback, called by a real HTTP client. */
class AuthDirectivesTest {

  static ActorSystem<Void> system;
  static String base;
  static String withoutPeerAddress;
  static final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "auth-directives");
    var auth =
        GatewayAuthTest.auth(
            // loopback trust forced on beside a key: the test is that the peer is read from the socket
            "api-keys = \"k1=acme\", allowed-origins = [\"https://console.example.com\"],"
                + " loopback-anonymous = on");
    var blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    Route route =
        AuthDirectives.authenticated(
            auth, blocking, identity -> complete(identity.tenant() + " " + identity.method().label()));
    var settings = ServerSettings.create(system.settings().config());
    var bound =
        Http.get(system)
            .newServerAt("127.0.0.1", 0)
            .withSettings(settings.withRemoteAddressAttribute(true))
            .bind(route)
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + bound.localAddress().getPort() + "/";
    var blind =
        Http.get(system)
            .newServerAt("127.0.0.1", 0)
            .withSettings(settings.withRemoteAddressAttribute(false))
            .bind(route)
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    withoutPeerAddress = "http://127.0.0.1:" + blind.localAddress().getPort() + "/";
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  static HttpResponse<String> get(String url, String authorization, String origin) throws Exception {
    var request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    if (authorization != null) request.header("Authorization", authorization);
    if (origin != null) request.header("Origin", origin);
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aLoopbackClientWithoutCredentialsReachesTheRouteAsTheDefaultTenant() throws Exception {
    var response = get(base, null, null);
    assertEquals(200, response.statusCode());
    assertEquals("local loopback", response.body());
  }

  @Test
  void anApiKeyReachesTheRouteAsItsTenant() throws Exception {
    var response = get(base, "Bearer k1", "https://console.example.com");
    assertEquals(200, response.statusCode());
    assertEquals("acme api-key", response.body());
  }

  @Test
  void aBadCredentialGets401WithABearerChallenge() throws Exception {
    var response = get(base, "Bearer nope", null);
    assertEquals(401, response.statusCode());
    assertEquals(Optional.of("Bearer realm=\"legato\""), response.headers().firstValue("WWW-Authenticate"));
    assertTrue(response.body().contains("invalid credentials"), response.body());
  }

  @Test
  void aForeignOriginGets403() throws Exception {
    var response = get(base, null, "https://evil.example");
    assertEquals(403, response.statusCode());
    assertTrue(response.headers().firstValue("WWW-Authenticate").isEmpty());
  }

  @Test
  void aServerThatDoesNotRecordPeerAddressesRefusesRatherThanGuesses() throws Exception {
    assertEquals(500, get(withoutPeerAddress, null, null).statusCode());
  }
}
