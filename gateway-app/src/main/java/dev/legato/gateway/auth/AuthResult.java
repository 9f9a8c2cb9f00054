package dev.legato.gateway.auth;

import java.util.Optional;

/** The verdict on one request: let it in as an {@link Identity}, or refuse it with an HTTP status. */
public sealed interface AuthResult {

  /** The request may proceed as {@code identity}. */
  record Allowed(Identity identity) implements AuthResult {}

  /**
   * The request is refused: 401 (no or bad credentials), 403 (origin or tenant not allowed) or 503
   * (token keys cannot be fetched). The message is safe to send to the client: it never carries a
   * credential.
   */
  record Refused(int status, String message) implements AuthResult {

    static Refused unauthorized(String message) {
      return new Refused(401, message);
    }

    static Refused forbidden(String message) {
      return new Refused(403, message);
    }

    /** The {@code WWW-Authenticate} value a 401 must carry (RFC 6750), empty for other statuses. */
    public Optional<String> challenge() {
      return status == 401 ? Optional.of("Bearer realm=\"legato\"") : Optional.empty();
    }
  }
}
