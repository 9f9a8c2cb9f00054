package dev.legato.gateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.source.ImmutableSecret;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSKeySelector;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Verifies JWT bearer tokens with Nimbus JOSE + JWT: HS256 against a shared secret and/or RS256
 * against a JWKS URL (cached; an unknown {@code kid} triggers a rate-limited refetch, which is how
 * key rotation is picked up). Checks {@code exp} (required), {@code nbf}, and {@code iss} / {@code
 * aud} when configured, then reads the tenant from the configured claim, falling back to {@code
 * sub}. A token is an operator's when its admin claim is {@code true}, or is a string or a list of
 * strings holding the admin role (for identity providers that put roles in one claim).
 */
final class BearerTokens {

  /** What the JWT settings say, already read from config. */
  record Settings(
      Optional<byte[]> hs256Secret,
      Optional<URL> jwksUrl,
      Optional<String> issuer,
      Optional<String> audience,
      String tenantClaim,
      String adminClaim,
      String adminRole,
      Duration clockSkew,
      Duration jwksCacheTtl,
      Duration jwksTimeout,
      Duration jwksRefreshMinInterval) {}

  /** HS256 needs a key at least as long as its hash (RFC 7518, 3.2). */
  static final int MIN_SECRET_BYTES = 32;

  private final DefaultJWTProcessor<SecurityContext> processor;
  private final String tenantClaim;
  private final String adminClaim;
  private final String adminRole;

  BearerTokens(Settings settings) {
    JWSKeySelector<SecurityContext> hmac =
        settings
            .hs256Secret()
            .<JWSKeySelector<SecurityContext>>map(
                secret ->
                    new JWSVerificationKeySelector<>(
                        JWSAlgorithm.HS256, new ImmutableSecret<>(secret)))
            .orElse(null);
    JWSKeySelector<SecurityContext> rsa =
        settings
            .jwksUrl()
            .<JWSKeySelector<SecurityContext>>map(
                url -> new JWSVerificationKeySelector<>(JWSAlgorithm.RS256, jwks(url, settings)))
            .orElse(null);

    processor = new DefaultJWTProcessor<>();
    // the token's own "alg" picks the key source; an algorithm with no source yields no keys,
    // which Nimbus reports as a rejected token
    processor.setJWSKeySelector(
        (header, context) -> {
          if (JWSAlgorithm.HS256.equals(header.getAlgorithm()) && hmac != null) {
            return hmac.selectJWSKeys(header, context);
          }
          if (JWSAlgorithm.RS256.equals(header.getAlgorithm()) && rsa != null) {
            return rsa.selectJWSKeys(header, context);
          }
          return List.of();
        });

    var exact = new JWTClaimsSet.Builder();
    settings.issuer().ifPresent(exact::issuer);
    var claims =
        new DefaultJWTClaimsVerifier<SecurityContext>(
            settings.audience().map(Set::of).orElse(null), exact.build(), Set.of("exp"), null);
    claims.setMaxClockSkew((int) settings.clockSkew().toSeconds());
    processor.setJWTClaimsSetVerifier(claims);
    tenantClaim = settings.tenantClaim();
    adminClaim = settings.adminClaim();
    adminRole = settings.adminRole();
  }

  private static JWKSource<SecurityContext> jwks(URL url, Settings settings) {
    int timeout = (int) settings.jwksTimeout().toMillis();
    var retriever =
        new DefaultResourceRetriever(
            timeout, timeout, JWKSourceBuilder.DEFAULT_HTTP_SIZE_LIMIT);
    return JWKSourceBuilder.<SecurityContext>create(url, retriever)
        .cache(settings.jwksCacheTtl().toMillis(), timeout)
        .rateLimited(settings.jwksRefreshMinInterval().toMillis())
        .build();
  }

  static byte[] secretBytes(String secret) {
    return secret.getBytes(StandardCharsets.UTF_8);
  }

  /** Verifies the token; the result never quotes the token. */
  AuthResult verify(String token) {
    JWTClaimsSet claims;
    try {
      claims = processor.process(token, null);
    } catch (ParseException e) {
      return AuthResult.Refused.unauthorized("malformed bearer token");
    } catch (BadJOSEException e) {
      // Nimbus's reasons name the failed check ("Expired JWT", "Invalid signature", ...), not the token
      return AuthResult.Refused.unauthorized("invalid bearer token: " + e.getMessage());
    } catch (KeySourceException e) {
      return new AuthResult.Refused(503, "cannot fetch the token signing keys; try again later");
    } catch (JOSEException e) {
      return AuthResult.Refused.unauthorized("invalid bearer token: " + e.getMessage());
    }

    String subject = claims.getSubject();
    Object tenant = claims.getClaim(tenantClaim);
    if (tenant == null) {
      tenant = subject;
    }
    if (!(tenant instanceof String name)) {
      return AuthResult.Refused.unauthorized(
          "bearer token names no tenant: it needs a '" + tenantClaim + "' or 'sub' string claim");
    }
    if (!Identity.isSafeTenant(name)) {
      return AuthResult.Refused.forbidden(
          "the token's tenant is not a valid tenant name (1-64 of letters, digits, '.', '_', '-')");
    }
    return new AuthResult.Allowed(
        new Identity(name, subject != null ? subject : name, Identity.Method.JWT, isAdmin(claims)));
  }

  private boolean isAdmin(JWTClaimsSet claims) {
    Object claim = claims.getClaim(adminClaim);
    if (Boolean.TRUE.equals(claim)) {
      return true;
    }
    if (adminRole.isEmpty()) {
      return false;
    }
    if (claim instanceof String role) {
      return role.equals(adminRole);
    }
    // Nimbus gives JSON arrays as lists
    return claim instanceof List<?> roles && roles.contains(adminRole);
  }
}
