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
 * in: the Origin allow-list first, then a bearer credential (API key, admin key or JWT), then
 * loopback trust or {@code allow-anonymous}. Loopback trust is on by default only while no
 * credential is configured; only then is a loopback client also an operator. Immutable and
 * thread-safe; build one from the {@code legato.gateway.auth} config section and share it.
 *
 * <p>Verifying an RS256 token may fetch the JWKS document (bounded by {@code jwt.jwks-timeout}),
 * so callers on an actor dispatcher should run {@link #authenticate} on a blocking one.
 */
public final class GatewayAuth {

  private static final Logger log = LoggerFactory.getLogger(GatewayAuth.class);
  private static final String BEARER = "bearer ";

  /** {@code legato.gateway.auth.loopback-anonymous}. */
  enum LoopbackAnonymous {
    /** On exactly when no API key, admin key or JWT setting is configured. */
    AUTO,
    ON,
    OFF
  }

  private final String defaultTenant;
  private final LoopbackAnonymous loopbackMode;
  private final boolean loopbackAnonymous;
  private final boolean allowAnonymous;
  private final Set<String> allowedOrigins;
  private final boolean anyOrigin;
  private final ApiKeys apiKeys;
  private final ApiKeys adminKeys;
  private final Optional<BearerTokens> tokens;
  private final String tokenKinds;

  private GatewayAuth(
      String defaultTenant,
      LoopbackAnonymous loopbackMode,
      boolean allowAnonymous,
      Set<String> allowedOrigins,
      ApiKeys apiKeys,
      ApiKeys adminKeys,
      Optional<BearerTokens> tokens,
      String tokenKinds) {
    this.defaultTenant = defaultTenant;
    this.allowAnonymous = allowAnonymous;
    this.anyOrigin = allowedOrigins.contains("*");
    this.allowedOrigins = Set.copyOf(allowedOrigins);
    this.apiKeys = apiKeys;
    this.adminKeys = adminKeys;
    this.tokens = tokens;
    this.tokenKinds = tokenKinds;
    this.loopbackMode = loopbackMode;
    this.loopbackAnonymous = switch (loopbackMode) {
      case AUTO -> !hasCredentials();
      case ON -> true;
      case OFF -> false;
    };
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
    var adminKeys = ApiKeys.parse(entries(auth, "admin-keys"), "admin-keys", true);
    if (apiKeys.sharesAKeyWith(adminKeys)) {
      throw new ConfigException.BadValue(
          auth.origin(), "admin-keys", "a key is in both api-keys and admin-keys; give operators keys of their own");
    }

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
                        jwt.getString("admin-claim"),
                        jwt.getString("admin-role").trim(),
                        jwt.getDuration("clock-skew"),
                        jwt.getDuration("jwks-cache-ttl"),
                        jwt.getDuration("jwks-timeout"),
                        jwt.getDuration("jwks-refresh-min-interval"))));

    var kinds = new StringBuilder();
    secret.ifPresent(s -> kinds.append("HS256"));
    jwksUrl.ifPresent(u -> kinds.append(kinds.length() > 0 ? ", " : "").append("RS256 via JWKS"));
    var built =
        new GatewayAuth(
            defaultTenant,
            loopbackMode(auth),
            auth.getBoolean("allow-anonymous"),
            origins,
            apiKeys,
            adminKeys,
            tokens,
            kinds.toString());
    log.info(
        "Gateway auth: api-keys={}, admin-keys={}, hs256={}, jwks={}, loopback-anonymous={}, allow-anonymous={}, allowed-origins={}",
        apiKeys.isEmpty() ? "none" : "configured",
        adminKeys.size(),
        secret.isPresent(),
        jwksUrl.map(URL::toString).orElse("none"),
        built.loopbackAnonymous,
        built.allowAnonymous,
        origins.isEmpty() ? "none" : origins);
    return built;
  }

  /**
   * The mode in one line, for the operator starting Legato: which credentials are accepted, how many
   * admin keys, and whether anonymous loopback clients get in.
   */
  public String describe() {
    var credentials = new StringBuilder();
    if (!apiKeys.isEmpty()) {
      long tenants = apiKeys.names();
      credentials.append("API keys (").append(tenants).append(tenants == 1 ? " tenant)" : " tenants)");
    }
    if (tokens.isPresent()) {
      credentials.append(credentials.length() > 0 ? ", " : "").append("JWT (").append(tokenKinds).append(')');
    }
    if (credentials.length() == 0) {
      credentials.append(adminKeys.isEmpty() ? "no credentials" : "no tenant credentials");
    }
    return "auth: " + credentials
        + ", admin keys: " + adminKeys.size()
        + ", anonymous loopback: " + (loopbackAnonymous ? "on" : "off")
        + (loopbackMode == LoopbackAnonymous.AUTO ? " (auto)" : "")
        + (loopbackAnonymous && !hasCredentials() ? " with operator access" : "")
        + (allowAnonymous ? ", anonymous from anywhere: on (tenant " + defaultTenant + ")" : "");
  }

  /** Whether a loopback client without credentials gets in (as the default tenant). */
  public boolean loopbackAnonymous() {
    return loopbackAnonymous;
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
      // with no credential configured nobody could be an operator otherwise; with one, the operator
      // has a key, and loopback may be a reverse proxy speaking for anyone
      return new AuthResult.Allowed(
          new Identity(defaultTenant, "anonymous", Identity.Method.LOOPBACK, !hasCredentials()));
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
    var byKey = apiKeys.lookup(credential).or(() -> adminKeys.lookup(credential));
    if (byKey.isPresent()) {
      return new AuthResult.Allowed(byKey.get());
    }
    if (tokens.isPresent() && looksLikeJwt(credential)) {
      return tokens.get().verify(credential);
    }
    return AuthResult.Refused.unauthorized("invalid credentials: unknown API key or bearer token");
  }

  private boolean hasCredentials() {
    return !apiKeys.isEmpty() || !adminKeys.isEmpty() || tokens.isPresent();
  }

  private static LoopbackAnonymous loopbackMode(Config auth) {
    // HOCON's on/off/true/false/yes/no, as getBoolean reads them, or auto
    var value = auth.getString("loopback-anonymous").trim().toLowerCase(Locale.ROOT);
    return switch (value) {
      case "auto" -> LoopbackAnonymous.AUTO;
      case "on", "true", "yes" -> LoopbackAnonymous.ON;
      case "off", "false", "no" -> LoopbackAnonymous.OFF;
      default -> throw new ConfigException.BadValue(
          auth.origin(), "loopback-anonymous", "must be auto, on or off, not '" + value + "'");
    };
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
