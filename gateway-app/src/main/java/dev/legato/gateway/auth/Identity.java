package dev.legato.gateway.auth;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Who a connection acts as. The tenant is always a safe name (see {@link #isSafeTenant}), so it
 * may become part of an entity id or a path; the subject never carries a secret. {@code admin}
 * marks an operator, who may use the operations routes ({@code /metrics}, {@code /admin/...}).
 */
public record Identity(String tenant, String subject, Method method, boolean admin) {

  private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  /** How the identity was established. */
  public enum Method {
    LOOPBACK("loopback"),
    ANONYMOUS("anonymous"),
    API_KEY("api-key"),
    ADMIN_KEY("admin-key"),
    JWT("jwt");

    private final String label;

    Method(String label) {
      this.label = label;
    }

    /**
     * The name used in logs and metrics: {@code loopback}, {@code anonymous}, {@code api-key},
     * {@code admin-key}, {@code jwt}.
     */
    public String label() {
      return label;
    }
  }

  /** A tenant's identity, not an operator's. */
  public Identity(String tenant, String subject, Method method) {
    this(tenant, subject, method, false);
  }

  public Identity {
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(method, "method");
    if (!isSafeTenant(tenant)) {
      throw new IllegalArgumentException("not a safe tenant name");
    }
  }

  /**
   * Letters, digits, '.', '_' and '-', 1 to 64 of them, and not "." or ".." (which would walk a
   * path).
   */
  public static boolean isSafeTenant(String tenant) {
    return tenant != null
        && TENANT.matcher(tenant).matches()
        && !tenant.equals(".")
        && !tenant.equals("..");
  }
}
