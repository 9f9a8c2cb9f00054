package dev.legato.gateway.auth;

import static dev.legato.gateway.auth.GatewayAuthTest.REMOTE;
import static dev.legato.gateway.auth.GatewayAuthTest.allowed;
import static dev.legato.gateway.auth.GatewayAuthTest.auth;
import static dev.legato.gateway.auth.GatewayAuthTest.call;
import static dev.legato.gateway.auth.GatewayAuthTest.hs256;
import static dev.legato.gateway.auth.GatewayAuthTest.in;
import static dev.legato.gateway.auth.GatewayAuthTest.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** RS256 tokens checked against a JWKS document served by a real HTTP server on loopback. */
class JwksTokensTest {

  static RSAKey first;
  static RSAKey second;

  final AtomicReference<JWKSet> published = new AtomicReference<>();
  final AtomicInteger fetches = new AtomicInteger();
  HttpServer server;
  String jwksUrl;

  @BeforeAll
  static void keys() throws Exception {
    first = new RSAKeyGenerator(2048).keyID("key-1").generate();
    second = new RSAKeyGenerator(2048).keyID("key-2").generate();
  }

  @BeforeEach
  void serveJwks() throws IOException {
    published.set(new JWKSet(first.toPublicJWK()));
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/.well-known/jwks.json",
        exchange -> {
          fetches.incrementAndGet();
          var body = published.get().toString().getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().set("Content-Type", "application/json");
          exchange.sendResponseHeaders(200, body.length);
          try (var out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
    jwksUrl = "http://127.0.0.1:" + server.getAddress().getPort() + "/.well-known/jwks.json";
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  GatewayAuth jwksAuth(String more) {
    return auth("jwt.jwks-url = \"" + jwksUrl + "\", jwt.jwks-refresh-min-interval = 1ms, " + more);
  }

  static String rs256(RSAKey key, String tenant) {
    try {
      var jwt =
          new SignedJWT(
              new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
              new JWTClaimsSet.Builder()
                  .subject("ada")
                  .claim("tenant", tenant)
                  .expirationTime(in(Duration.ofMinutes(5)))
                  .build());
      jwt.sign(new RSASSASigner(key));
      return jwt.serialize();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aTokenSignedByAPublishedKeyLetsInItsTenant() {
    var auth = jwksAuth("");
    assertEquals("acme", allowed(call(auth, "Bearer " + rs256(first, "acme"), null, REMOTE)).tenant());
    assertEquals("acme", allowed(call(auth, "Bearer " + rs256(first, "acme"), null, REMOTE)).tenant());
    assertEquals(1, fetches.get(), "the JWKS document is cached");
  }

  @Test
  void aRotatedKeyIsAcceptedOnceTheJwksPublishesIt() {
    var auth = jwksAuth("");
    allowed(call(auth, "Bearer " + rs256(first, "acme"), null, REMOTE));
    refused(401, call(auth, "Bearer " + rs256(second, "acme"), null, REMOTE));

    published.set(new JWKSet(second.toPublicJWK()));

    assertEquals("acme", allowed(call(auth, "Bearer " + rs256(second, "acme"), null, REMOTE)).tenant());
    refused(401, call(auth, "Bearer " + rs256(first, "acme"), null, REMOTE));
  }

  @Test
  void aTokenSignedByAnUnpublishedKeyUnderAKnownKidIsRefused() throws Exception {
    var impostor = new RSAKeyGenerator(2048).keyID(first.getKeyID()).generate();
    refused(401, call(jwksAuth(""), "Bearer " + rs256(impostor, "acme"), null, REMOTE));
  }

  @Test
  void anHs256TokenIsRefusedWhenOnlyAJwksIsConfigured() {
    var token = hs256(GatewayAuthTest.SECRET, c -> c.subject("ada"));
    refused(401, call(jwksAuth(""), "Bearer " + token, null, REMOTE));
  }

  @Test
  void bothAlgorithmsAreAcceptedWhenBothAreConfigured() {
    var auth = jwksAuth("jwt.secret = \"" + GatewayAuthTest.SECRET + "\"");
    assertEquals("acme", allowed(call(auth, "Bearer " + rs256(first, "acme"), null, REMOTE)).tenant());
    assertEquals("ada", allowed(call(auth, "Bearer " + hs256(GatewayAuthTest.SECRET, c -> c.subject("ada")), null, REMOTE)).tenant());
  }

  @Test
  void anUnreachableJwksIsReportedAsUnavailable() {
    var auth = jwksAuth("jwt.jwks-timeout = 500ms");
    server.stop(0);
    refused(503, call(auth, "Bearer " + rs256(first, "acme"), null, REMOTE));
  }
}
