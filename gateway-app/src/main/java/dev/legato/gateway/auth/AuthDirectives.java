package dev.legato.gateway.auth;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;

import java.net.InetAddress;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@link GatewayAuth} for Pekko HTTP routes. The peer address is the socket's, read from the
 * request's remote-address attribute, so the server must run with {@code
 * pekko.http.server.remote-address-attribute = on}; forwarding headers (which {@code
 * extractClientIP} trusts) are never used, since any client can send them.
 */
public final class AuthDirectives {

  private AuthDirectives() {}

  /**
   * Authenticates the request on {@code blocking} (a JWKS fetch may block) and runs {@code inner}
   * with the identity, or completes with the refusal: status, plain-text message and, for 401,
   * {@code WWW-Authenticate: Bearer realm="legato"}.
   */
  public static Route authenticated(
      GatewayAuth auth, Executor blocking, Function<Identity, Route> inner) {
    return extractRequest(
        request ->
            onSuccess(
                CompletableFuture.supplyAsync(() -> authenticate(auth, request), blocking),
                result ->
                    result instanceof AuthResult.Allowed allowed
                        ? inner.apply(allowed.identity())
                        : complete(refusal((AuthResult.Refused) result))));
  }

  /** The verdict for a Pekko HTTP request; refused (500) when the server does not record peers. */
  public static AuthResult authenticate(GatewayAuth auth, HttpRequest request) {
    Optional<InetAddress> remote =
        request.getAttribute(AttributeKeys.remoteAddress).flatMap(RemoteAddress::getAddress);
    if (remote.isEmpty()) {
      // failing loudly beats guessing: a wrong guess either locks out loopback or trusts strangers
      return new AuthResult.Refused(
          500, "the server does not record peer addresses (pekko.http.server.remote-address-attribute)");
    }
    return auth.authenticate(
        request.getHeader("Authorization").map(HttpHeader::value),
        request.getHeader("Origin").map(HttpHeader::value),
        remote.get());
  }

  /** The HTTP response for a refusal. */
  public static HttpResponse refusal(AuthResult.Refused refused) {
    var response =
        HttpResponse.create()
            .withStatus(refused.status())
            .withEntity(ContentTypes.TEXT_PLAIN_UTF8, refused.message() + "\n");
    return refused.challenge().isPresent()
        ? response.addHeader(
            WWWAuthenticate.create(HttpChallenge.create("Bearer", "legato", Map.of())))
        : response;
  }
}
