package dev.legato.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class GatewayAuthTest {

  static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
  static final InetAddress REMOTE = address("203.0.113.7");
  static final String SECRET = "a-shared-secret-of-at-least-32-bytes!";

  /** The gateway's reference config with {@code overrides} inside {@code legato.gateway.auth}. */
  static GatewayAuth auth(String overrides) {
    var config =
        ConfigFactory.parseString("legato.gateway.auth {" + overrides + "}")
            .withFallback(ConfigFactory.defaultReference())
            .resolve();
    return GatewayAuth.fromConfig(config.getConfig("legato.gateway.auth"));
  }

  static AuthResult call(GatewayAuth auth, String authorization, String origin, InetAddress from) {
    return auth.authenticate(Optional.ofNullable(authorization), Optional.ofNullable(origin), from);
  }

  static Identity allowed(AuthResult result) {
    return assertInstanceOf(AuthResult.Allowed.class, result, result::toString).identity();
  }

  static AuthResult.Refused refused(int status, AuthResult result) {
    var refused = assertInstanceOf(AuthResult.Refused.class, result, result::toString);
    assertEquals(status, refused.status(), refused.message());
    return refused;
  }

  static String hs256(String secret, Consumer<JWTClaimsSet.Builder> claims) {
    var builder = new JWTClaimsSet.Builder().expirationTime(in(Duration.ofMinutes(5)));
    claims.accept(builder);
    try {
      var jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), builder.build());
      jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
      return jwt.serialize();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static Date in(Duration d) {
    return Date.from(Instant.now().plus(d));
  }

  static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  @Nested
  class Anonymous {

    @Test
    void aLoopbackClientWithoutCredentialsIsLetInAsTheDefaultTenant() {
      var identity = allowed(call(auth(""), null, null, LOOPBACK));
      assertEquals("local", identity.tenant());
      assertEquals(Identity.Method.LOOPBACK, identity.method());
      assertTrue(identity.admin(), "with no credential configured, the loopback user is the operator");
      assertEquals("local", allowed(call(auth(""), null, null, address("::1"))).tenant());
    }

    @Test
    void theDefaultTenantIsConfigurable() {
      assertEquals("home", allowed(call(auth("default-tenant = home"), null, null, LOOPBACK)).tenant());
    }

    @Test
    void anUnsafeDefaultTenantIsRefusedAtStartup() {
      assertThrows(ConfigException.class, () -> auth("default-tenant = \"../x\""));
    }

    @Test
    void aRemoteClientWithoutCredentialsIsRefusedWhenNothingIsConfigured() {
      var refused = refused(401, call(auth(""), null, null, REMOTE));
      assertTrue(refused.message().contains("allow-anonymous"), refused.message());
      assertEquals(Optional.of("Bearer realm=\"legato\""), refused.challenge());
    }

    @Test
    void aRemoteClientWithoutCredentialsIsLetInWithAllowAnonymous() {
      var identity = allowed(call(auth("allow-anonymous = on"), null, null, REMOTE));
      assertEquals("local", identity.tenant());
      assertEquals(Identity.Method.ANONYMOUS, identity.method());
    }

    @Test
    void aRemoteClientWithoutCredentialsIsRefusedWhenCredentialsAreConfigured() {
      var refused = refused(401, call(auth("api-keys = \"k1=acme\""), null, null, REMOTE));
      assertTrue(refused.message().contains("Bearer"), refused.message());
    }

    @Test
    void loopbackTrustEndsOnceAnyCredentialIsConfigured() {
      for (var configured : new String[] {
          "api-keys = \"k1=acme\"", "admin-keys = \"a1=ops\"", "jwt.secret = \"" + SECRET + "\""}) {
        var auth = auth(configured);
        assertFalse(auth.loopbackAnonymous(), configured);
        var refused = refused(401, call(auth, null, null, LOOPBACK));
        assertTrue(refused.message().contains("Bearer"), refused.message());
        refused(401, call(auth, null, null, address("::1")));
      }
    }

    @Test
    void loopbackTrustTurnedOnWithCredentialsLetsInATenantButNoOperator() {
      var auth = auth("api-keys = \"k1=acme\", loopback-anonymous = on");
      var identity = allowed(call(auth, null, null, LOOPBACK));
      assertEquals("local", identity.tenant());
      assertFalse(identity.admin(), "behind a proxy on this host, loopback may be anyone");
      refused(401, call(auth, null, null, REMOTE));
      assertFalse(allowed(call(auth("allow-anonymous = on"), null, null, REMOTE)).admin(),
          "nor is a remote anonymous client an operator");
    }

    @Test
    void anUnknownLoopbackModeIsRefusedAtStartup() {
      var e = assertThrows(ConfigException.class, () -> auth("loopback-anonymous = sometimes"));
      assertTrue(e.getMessage().contains("auto, on or off"), e.getMessage());
      assertTrue(auth("loopback-anonymous = true").loopbackAnonymous());
    }

    @Test
    void theModeIsSaidInOneLine() {
      assertEquals("auth: no credentials, admin keys: 0, anonymous loopback: on (auto) with operator access",
          auth("").describe());
      assertEquals("auth: API keys (2 tenants), admin keys: 1, anonymous loopback: off (auto)",
          auth("api-keys = \"k1=a,k2=b,k3=b\", admin-keys = \"a1=ops\"").describe());
      assertEquals("auth: JWT (HS256), admin keys: 0, anonymous loopback: on",
          auth("jwt.secret = \"" + SECRET + "\", loopback-anonymous = on").describe());
      assertEquals("auth: no tenant credentials, admin keys: 1, anonymous loopback: off (auto)"
              + ", anonymous from anywhere: on (tenant local)",
          auth("admin-keys = \"a1=ops\", allow-anonymous = on").describe());
    }

    @Test
    void loopbackTrustCanBeTurnedOff() {
      refused(401, call(auth("loopback-anonymous = off"), null, null, LOOPBACK));
      allowed(call(auth("loopback-anonymous = off, allow-anonymous = on"), null, null, LOOPBACK));
    }

    @Test
    void aPresentedCredentialIsIgnoredWhenNoneAreConfigured() {
      assertEquals("local", allowed(call(auth(""), "Bearer whatever", null, LOOPBACK)).tenant());
      refused(401, call(auth(""), "Bearer whatever", null, REMOTE));
    }
  }

  @Nested
  class ApiKeys {

    final GatewayAuth auth = auth("api-keys = \"key-one=tenantA, key=two==tenantB\"");

    @Test
    void eachKeyLetsInItsOwnTenant() {
      var a = allowed(call(auth, "Bearer key-one", null, REMOTE));
      assertEquals("tenantA", a.tenant());
      assertEquals(Identity.Method.API_KEY, a.method());
      assertFalse(a.subject().contains("key-one"), "the subject must not reveal the key");
      assertEquals("tenantB", allowed(call(auth, "bearer key=two=", null, REMOTE)).tenant());
    }

    @Test
    void keysMayComeAsAHoconList() {
      var listed = auth("api-keys = [\"k1=acme\", \"k2=globex\"]");
      assertEquals("globex", allowed(call(listed, "Bearer k2", null, REMOTE)).tenant());
    }

    @Test
    void anUnknownKeyIsRefusedEvenFromLoopback() {
      var refused = refused(401, call(auth, "Bearer key-three", null, LOOPBACK));
      assertFalse(refused.message().contains("key-three"), refused.message());
      refused(401, call(auth, "Bearer key-on", null, REMOTE));
    }

    @Test
    void aSchemeOtherThanBearerIsRefused() {
      refused(401, call(auth, "Basic a2V5LW9uZQ==", null, REMOTE));
      refused(401, call(auth, "key-one", null, REMOTE));
    }

    @Test
    void aKeyForAnUnsafeTenantIsRefusedAtStartup() {
      var e = assertThrows(ConfigException.class, () -> auth("api-keys = \"sekrit=a/b\""));
      assertFalse(e.getMessage().contains("sekrit"), e.getMessage());
      assertThrows(ConfigException.class, () -> auth("api-keys = \"no-tenant-here\""));
    }
  }

  @Nested
  class Operators {

    final GatewayAuth auth =
        auth("api-keys = \"k1=acme\", admin-keys = [\"a1=ops\", \"a2=oncall\"], jwt.secret = \"" + SECRET + "\"");

    @Test
    void anAdminKeyIsAnOperatorActingAsTheTenantOfItsName() {
      var ops = allowed(call(auth, "Bearer a1", null, REMOTE));
      assertTrue(ops.admin());
      assertEquals("ops", ops.tenant());
      assertEquals(Identity.Method.ADMIN_KEY, ops.method());
      assertFalse(ops.subject().contains("a1"), "the subject must not reveal the key");
      assertEquals("oncall", allowed(call(auth, "Bearer a2", null, REMOTE)).tenant());
    }

    @Test
    void aTenantKeyIsNoOperator() {
      assertFalse(allowed(call(auth, "Bearer k1", null, REMOTE)).admin());
      assertFalse(allowed(call(auth, "Bearer k1", null, LOOPBACK)).admin());
    }

    @Test
    void aKeyInBothListsIsRefusedAtStartupWithoutQuotingIt() {
      var e = assertThrows(ConfigException.class,
          () -> auth("api-keys = \"same-key=acme\", admin-keys = \"same-key=ops\""));
      assertFalse(e.getMessage().contains("same-key"), e.getMessage());
    }

    @Test
    void aTokenWithTheAdminClaimIsAnOperatorsAndOthersAreNot() {
      assertTrue(allowed(call(auth, "Bearer " + hs256(SECRET, c -> c.subject("ada").claim("legato_admin", true)),
          null, REMOTE)).admin());
      assertFalse(allowed(call(auth, "Bearer " + hs256(SECRET, c -> c.subject("ada").claim("legato_admin", false)),
          null, REMOTE)).admin());
      assertFalse(allowed(call(auth, "Bearer " + hs256(SECRET, c -> c.subject("ada").claim("legato_admin", "yes")),
          null, REMOTE)).admin());
      assertFalse(allowed(call(auth, "Bearer " + hs256(SECRET, c -> c.subject("ada")), null, REMOTE)).admin());
    }

    @Test
    void theAdminClaimMayBeARoleList() {
      var roles = auth("jwt.secret = \"" + SECRET + "\", jwt.admin-claim = roles, jwt.admin-role = legato-ops");
      assertTrue(allowed(call(roles, "Bearer " + hs256(SECRET,
          c -> c.subject("ada").claim("roles", List.of("viewer", "legato-ops"))), null, REMOTE)).admin());
      assertTrue(allowed(call(roles, "Bearer " + hs256(SECRET, c -> c.subject("ada").claim("roles", "legato-ops")),
          null, REMOTE)).admin());
      assertFalse(allowed(call(roles, "Bearer " + hs256(SECRET,
          c -> c.subject("ada").claim("roles", List.of("viewer"))), null, REMOTE)).admin());
      assertFalse(allowed(call(roles, "Bearer " + hs256(SECRET, c -> c.subject("ada").claim("legato_admin", true)),
          null, REMOTE)).admin(), "only the configured claim counts");
    }
  }

  @Nested
  class Hs256Tokens {

    final GatewayAuth auth = auth("jwt.secret = \"" + SECRET + "\", jwt.clock-skew = 10s");

    @Test
    void aValidTokenLetsInTheTenantItNames() {
      var identity = allowed(call(auth, "Bearer " + hs256(SECRET, c -> c.subject("ada").claim("tenant", "acme")), null, REMOTE));
      assertEquals("acme", identity.tenant());
      assertEquals("ada", identity.subject());
      assertEquals(Identity.Method.JWT, identity.method());
    }

    @Test
    void anExpiredTokenIsRefused() {
      var token = hs256(SECRET, c -> c.subject("ada").expirationTime(in(Duration.ofMinutes(-1))));
      var refused = refused(401, call(auth, "Bearer " + token, null, REMOTE));
      assertTrue(refused.message().contains("Expired"), refused.message());
      assertFalse(refused.message().contains(token), "the message must not quote the token");
    }

    @Test
    void aTokenJustPastExpiryIsAcceptedWithinTheClockSkew() {
      var token = hs256(SECRET, c -> c.subject("ada").expirationTime(in(Duration.ofSeconds(-3))));
      allowed(call(auth, "Bearer " + token, null, REMOTE));
    }

    @Test
    void aTokenWithoutExpiryIsRefused() {
      var token = hs256(SECRET, c -> c.subject("ada").expirationTime(null));
      refused(401, call(auth, "Bearer " + token, null, REMOTE));
    }

    @Test
    void aNotYetValidTokenIsRefused() {
      var token = hs256(SECRET, c -> c.subject("ada").notBeforeTime(in(Duration.ofMinutes(2))));
      refused(401, call(auth, "Bearer " + token, null, REMOTE));
    }

    @Test
    void aTokenSignedWithAnotherSecretIsRefused() {
      var token = hs256("another-secret-that-is-32-bytes-long", c -> c.subject("ada"));
      refused(401, call(auth, "Bearer " + token, null, LOOPBACK));
    }

    @Test
    void anUnsignedTokenIsRefused() {
      var unsigned =
          new com.nimbusds.jwt.PlainJWT(
                  new JWTClaimsSet.Builder().subject("ada").expirationTime(in(Duration.ofMinutes(5))).build())
              .serialize();
      refused(401, call(auth, "Bearer " + unsigned, null, REMOTE));
    }

    @Test
    void issuerAndAudienceAreCheckedWhenConfigured() {
      var strict =
          auth("jwt.secret = \"" + SECRET + "\", jwt.issuer = \"https://idp\", jwt.audience = legato");
      allowed(call(strict, "Bearer " + hs256(SECRET, c -> c.subject("ada").issuer("https://idp").audience("legato")), null, REMOTE));
      refused(401, call(strict, "Bearer " + hs256(SECRET, c -> c.subject("ada").issuer("https://evil").audience("legato")), null, REMOTE));
      refused(401, call(strict, "Bearer " + hs256(SECRET, c -> c.subject("ada").issuer("https://idp").audience("other")), null, REMOTE));
      refused(401, call(strict, "Bearer " + hs256(SECRET, c -> c.subject("ada").issuer("https://idp")), null, REMOTE));
    }

    @Test
    void aTokenWithoutTheTenantClaimFallsBackToItsSubject() {
      assertEquals("ada", allowed(call(auth, "Bearer " + hs256(SECRET, c -> c.subject("ada")), null, REMOTE)).tenant());
      refused(401, call(auth, "Bearer " + hs256(SECRET, c -> {}), null, REMOTE));
    }

    @Test
    void theTenantClaimIsConfigurable() {
      var custom = auth("jwt.secret = \"" + SECRET + "\", jwt.tenant-claim = org");
      var token = hs256(SECRET, c -> c.subject("ada").claim("org", "acme").claim("tenant", "other"));
      assertEquals("acme", allowed(call(custom, "Bearer " + token, null, REMOTE)).tenant());
    }

    @Test
    void anUnsafeTenantIsRefused() {
      for (var tenant : new String[] {"../etc", "..", "a b", "x".repeat(65), "ümlaut", ""}) {
        var token = hs256(SECRET, c -> c.subject("ada").claim("tenant", tenant));
        refused(403, call(auth, "Bearer " + token, null, REMOTE));
      }
      var numeric = hs256(SECRET, c -> c.subject("ada").claim("tenant", 42));
      refused(401, call(auth, "Bearer " + numeric, null, REMOTE));
    }

    @Test
    void aMalformedTokenIsRefused() {
      refused(401, call(auth, "Bearer not.a.jwt", null, REMOTE));
      refused(401, call(auth, "Bearer plainly-not-a-token", null, REMOTE));
    }

    @Test
    void aShortSecretIsRefusedAtStartupWithoutQuotingIt() {
      var e = assertThrows(ConfigException.class, () -> auth("jwt.secret = tooshort"));
      assertFalse(e.getMessage().contains("tooshort"), e.getMessage());
    }

    @Test
    void apiKeysAndTokensWorkSideBySide() {
      var both = auth("api-keys = \"k1=keyed\", jwt.secret = \"" + SECRET + "\"");
      assertEquals("keyed", allowed(call(both, "Bearer k1", null, REMOTE)).tenant());
      assertEquals("ada", allowed(call(both, "Bearer " + hs256(SECRET, c -> c.subject("ada")), null, REMOTE)).tenant());
    }
  }

  @Nested
  class Origins {

    @Test
    void aRequestWithoutOriginIsNotRefusedForIt() {
      allowed(call(auth(""), null, null, LOOPBACK));
    }

    @Test
    void anyOriginIsRefusedByDefaultEvenFromLoopback() {
      refused(403, call(auth(""), null, "http://localhost:3000", LOOPBACK));
      refused(403, call(auth("api-keys = \"k1=acme\""), "Bearer k1", "https://evil.example", REMOTE));
    }

    @Test
    void aListedOriginIsAllowedAndOthersAreNot() {
      var auth = auth("allowed-origins = [\"https://console.example.com\", \"http://localhost:5173/\"]");
      allowed(call(auth, null, "https://console.example.com", LOOPBACK));
      allowed(call(auth, null, "HTTPS://Console.Example.com", LOOPBACK));
      allowed(call(auth, null, "http://localhost:5173", LOOPBACK));
      refused(403, call(auth, null, "https://console.example.com:8443", LOOPBACK));
      refused(403, call(auth, null, "https://console.example.com.evil", LOOPBACK));
      refused(403, call(auth, null, "null", LOOPBACK));
    }

    @Test
    void originsMayComeAsACommaSeparatedString() {
      var auth = auth("allowed-origins = \"https://a.example, https://b.example\"");
      allowed(call(auth, null, "https://b.example", LOOPBACK));
    }

    @Test
    void aStarAllowsAnyOrigin() {
      allowed(call(auth("allowed-origins = [\"*\"]"), null, "https://anywhere.example", LOOPBACK));
    }

    @Test
    void anAllowedOriginStillNeedsCredentialsFromAfar() {
      var auth = auth("allowed-origins = [\"https://console.example.com\"], api-keys = \"k1=acme\"");
      refused(401, call(auth, null, "https://console.example.com", REMOTE));
      allowed(call(auth, "Bearer k1", "https://console.example.com", REMOTE));
    }
  }
}
