package dev.legato.podium;

/** A Podium call that did not work, by what the caller can do about it. */
public abstract sealed class PodiumException extends RuntimeException {
  PodiumException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The instance does not exist (never did, was deleted, or was reclaimed). */
  public static final class InstanceNotFound extends PodiumException {
    public InstanceNotFound(String instanceId) {
      super("Podium has no instance " + instanceId, null);
    }
  }

  /** The deployment or agent type is unknown to Podium. */
  public static final class DeploymentNotFound extends PodiumException {
    public DeploymentNotFound(String what) {
      super("Podium has no deployment " + what, null);
    }
  }

  /** The API key was missing or refused (401/403). */
  public static final class Unauthorized extends PodiumException {
    public Unauthorized(String detail) {
      super("Podium refused the API key: " + detail, null);
    }
  }

  /** Podium could not be reached or kept failing (5xx, timeouts, an open circuit breaker). Worth retrying later. */
  public static final class Unavailable extends PodiumException {
    public Unavailable(String detail, Throwable cause) {
      super("Podium is unavailable: " + detail, cause);
    }
  }

  /** Podium answered something the contract does not allow (4xx we did not expect, unreadable body). */
  public static final class UnexpectedResponse extends PodiumException {
    public UnexpectedResponse(String detail) {
      super("unexpected answer from Podium: " + detail, null);
    }
  }
}
