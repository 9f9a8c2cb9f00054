package dev.legato.gateway.auth;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValueType;
import java.net.InetAddress;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, once per HTTP request or WebSocket upgrade, who the client is and whether it may come
 * in: the Origin allow-list first, then a bearer credential (static API key or JWT), then loopback
 * trust or {@code allow-anonymous}. Immutable and thread-safe; build one from the {@code
 * legato.gateway.auth} config section and share it.
 *
 * <p>Verifying an RS256 token may fetch the JWKS document (bounded by {@code jwt.jwks-timeout}),
 * so callers on an actor dispatcher should run {@link #authenticate} on a blocking one.
 */
public final class GatewayAuth {

  private static final Logger log = LoggerFactory.getLogger(GatewayAuth.class);
  private static final String BEARER = "bearer ";

  private final String defaultTenant;
  private final boolean loopbackAnonymous;
  private final boolean allowAnonymous;
  private final Set<String> allowedOrigins;
  private final boolean anyOrigin;
  private final ApiKeys apiKeys;
  private final Optional<BearerTokens> tokens;

  private GatewayAuth(
      String defaultTenant,
      boolean loopbackAnonymous,
      boolean allowAnonymous,
      Set<String> allowedOrigins,
      ApiKeys apiKeys,
      Optional<BearerTokens> tokens) {
    this.defaultTenant = defaultTenant;
    this.loopbackAnonymous = loopbackAnonymous;
    this.allowAnonymous = allowAnonymous;
    this.anyOrigin = allowedOrigins.contains("*");
    this.allowedOrigins = Set.copyOf(allowedOrigins);
    this.apiKeys = apiKeys;
    this.tokens = tokens;
  }

  /**
   * Reads the {@code legato.gateway.auth} section (pass {@code config.getConfig("legato.gateway.auth")}).
   *
   * @throws ConfigException when a value is missing or unusable; messages never quote a secret
   */
  public static GatewayAuth fromConfig(Config auth) {
    var defaultTenant = auth.getString("default-tenant");
    if (!Identity.isSafeTenant(defaultTenant)) {
      throw new ConfigException.BadValue(
          auth.origin(), "default-tenant", "not a safe tenant name ([A-Za-z0-9._-]{1,64})");
    }
    var origins =
        entries(auth, "allowed-origins").stream()
            .map(GatewayAuth::normalizeOrigin)
            .collect(Collectors.toSet());
    var apiKeys = ApiKeys.parse(entries(auth, "api-keys"), "api-keys");

    var jwt = auth.getConfig("jwt");
    var secret = nonBlank(jwt, "secret").map(BearerTokens::secretBytes);
    if (secret.isPresent() && secret.get().length < BearerTokens.MIN_SECRET_BYTES) {
      throw new ConfigException.BadValue(
          jwt.origin(),
          "jwt.secret",
          "an HS256 secret needs at least " + BearerTokens.MIN_SECRET_BYTES + " bytes");
    }
    var jwksUrl = nonBlank(jwt, "jwks-url").map(url -> parseUrl(jwt, url));
    Optional<BearerTokens> tokens =
        secret.isEmpty() && jwksUrl.isEmpty()
            ? Optional.empty()
            : Optional.of(
                new BearerTokens(
                    new BearerTokens.Settings(
                        secret,
                        jwksUrl,
                        nonBlank(jwt, "issuer"),
                        nonBlank(jwt, "audience"),
                        jwt.getString("tenant-claim"),
                        jwt.getDuration("clock-skew"),
                        jwt.getDuration("jwks-cache-ttl"),
                        jwt.getDuration("jwks-timeout"),
                        jwt.getDuration("jwks-refresh-min-interval"))));

    var built =
        new GatewayAuth(
            defaultTenant,
            auth.getBoolean("loopback-anonymous"),
            auth.getBoolean("allow-anonymous"),
            origins,
            apiKeys,
            tokens);
    log.info(
        "Gateway auth: api-keys={}, hs256={}, jwks={}, loopback-anonymous={}, allow-anonymous={}, allowed-origins={}",
        apiKeys.isEmpty() ? "none" : "configured",
        secret.isPresent(),
        jwksUrl.map(URL::toString).orElse("none"),
        built.loopbackAnonymous,
        built.allowAnonymous,
        origins.isEmpty() ? "none" : origins);
    return built;
  }

  /**
   * The verdict on one request.
   *
   * @param authorization the raw {@code Authorization} header, if any
   * @param origin the raw {@code Origin} header, if any (browsers send it; other clients don't)
   * @param remote the peer's socket address, not one taken from forwarding headers
   */
  public AuthResult authenticate(
      Optional<String> authorization, Optional<String> origin, InetAddress remote) {
    var result = decide(authorization, origin, remote);
    if (result instanceof AuthResult.Refused refused) {
      log.debug("Refused {} from {}: {}", refused.status(), remote.getHostAddress(), refused.message());
    }
    return result;
  }

  private AuthResult decide(
      Optional<String> authorization, Optional<String> origin, InetAddress remote) {
    // Origin first: a browser page on another site must not ride on loopback trust or on
    // credentials the browser attaches by itself
    if (origin.isPresent() && !originAllowed(origin.get())) {
      return AuthResult.Refused.forbidden(
          "origin not allowed; add it to legato.gateway.auth.allowed-origins");
    }
    var header = authorization.map(String::trim).filter(h -> !h.isEmpty());
    // with no credentials configured there is nothing to check a presented one against
    if (header.isPresent() && hasCredentials()) {
      return verify(header.get());
    }
    if (remote.isLoopbackAddress() && loopbackAnonymous) {
      return new AuthResult.Allowed(
          new Identity(defaultTenant, "anonymous", Identity.Method.LOOPBACK));
    }
    if (allowAnonymous) {
      return new AuthResult.Allowed(
          new Identity(defaultTenant, "anonymous", Identity.Method.ANONYMOUS));
    }
    if (!hasCredentials()) {
      return AuthResult.Refused.unauthorized(
          "this gateway admits unauthenticated clients only from loopback; configure "
              + "legato.gateway.auth api-keys or jwt, or set allow-anonymous = on");
    }
    return AuthResult.Refused.unauthorized(
        "authentication required: send Authorization: Bearer <API key or JWT>");
  }

  private AuthResult verify(String header) {
    if (header.length() <= BEARER.length()
        || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      return AuthResult.Refused.unauthorized(
          "unsupported Authorization scheme: send Authorization: Bearer <API key or JWT>");
    }
    var credential = header.substring(BEARER.length()).trim();
    var byKey = apiKeys.lookup(credential);
    if (byKey.isPresent()) {
      return new AuthResult.Allowed(byKey.get());
    }
    if (tokens.isPresent() && looksLikeJwt(credential)) {
      return tokens.get().verify(credential);
    }
    return AuthResult.Refused.unauthorized("invalid credentials: unknown API key or bearer token");
  }

  private boolean hasCredentials() {
    return !apiKeys.isEmpty() || tokens.isPresent();
  }

  private boolean originAllowed(String origin) {
    return anyOrigin || allowedOrigins.contains(normalizeOrigin(origin));
  }

  private static boolean looksLikeJwt(String credential) {
    return credential.chars().filter(c -> c == '.').count() == 2;
  }

  /** Origins compare by scheme, host and port, which browsers send in lower case without a path. */
  private static String normalizeOrigin(String origin) {
    var o = origin.trim().toLowerCase(Locale.ROOT);
    return o.endsWith("/") ? o.substring(0, o.length() - 1) : o;
  }

  /** A list, or a comma-separated string (so one environment variable can carry it). */
  private static List<String> entries(Config config, String path) {
    List<String> raw =
        config.getValue(path).valueType() == ConfigValueType.LIST
            ? config.getStringList(path)
            : Arrays.asList(config.getString(path).split(","));
    return raw.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  private static Optional<String> nonBlank(Config config, String path) {
    return Optional.of(config.getString(path).trim()).filter(s -> !s.isEmpty());
  }

  private static URL parseUrl(Config jwt, String url) {
    try {
      var uri = new URI(url);
      if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
        throw new ConfigException.BadValue(jwt.origin(), "jwt.jwks-url", "must be an http(s) URL");
      }
      return uri.toURL();
    } catch (URISyntaxException | MalformedURLException | IllegalArgumentException e) {
      throw new ConfigException.BadValue(jwt.origin(), "jwt.jwks-url", "not a URL: " + e.getMessage());
    }
  }
}
