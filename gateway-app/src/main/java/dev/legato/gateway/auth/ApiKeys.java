package dev.legato.gateway.auth;

import com.typesafe.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The static API keys, each naming its tenant (or, for admin keys, the operator, who acts as a
 * tenant of that name on the WebSocket). Keys are held only as SHA-256 digests and a
 * presented key is compared against every one of them in constant time, so neither the timing
 * nor a heap dump gives a key away.
 */
final class ApiKeys {

  private record Entry(byte[] digest, String tenant, String fingerprint) {}

  private final List<Entry> entries;
  private final boolean admin;

  private ApiKeys(List<Entry> entries, boolean admin) {
    this.entries = List.copyOf(entries);
    this.admin = admin;
  }

  /** Parses {@code key=tenant} entries; the config path is only used in error messages. */
  static ApiKeys parse(List<String> specs, String path) {
    return parse(specs, path, false);
  }

  /** Parses {@code key=name} entries whose identities are operators when {@code admin}. */
  static ApiKeys parse(List<String> specs, String path, boolean admin) {
    var entries = new ArrayList<Entry>();
    for (var spec : specs) {
      int eq = spec.lastIndexOf('=');
      if (eq <= 0 || eq == spec.length() - 1) {
        // never echo the entry: it holds a key
        throw new ConfigException.BadValue(path, "each entry must be key=tenant");
      }
      var key = spec.substring(0, eq).trim();
      var tenant = spec.substring(eq + 1).trim();
      if (key.isEmpty()) {
        throw new ConfigException.BadValue(path, "an entry has an empty key");
      }
      if (!Identity.isSafeTenant(tenant)) {
        throw new ConfigException.BadValue(
            path, "tenant '" + tenant + "' is not a safe tenant name ([A-Za-z0-9._-]{1,64})");
      }
      var digest = sha256(key);
      entries.add(new Entry(digest, tenant, HexFormat.of().formatHex(digest, 0, 4)));
    }
    return new ApiKeys(entries, admin);
  }

  boolean isEmpty() {
    return entries.isEmpty();
  }

  int size() {
    return entries.size();
  }

  /** How many tenants (or operators) the keys name; several keys may name one. */
  long names() {
    return entries.stream().map(Entry::tenant).distinct().count();
  }

  /** Whether a key is in both sets: it could not say whether it is an operator's. */
  boolean sharesAKeyWith(ApiKeys other) {
    return entries.stream().anyMatch(
        e -> other.entries.stream().anyMatch(o -> MessageDigest.isEqual(e.digest(), o.digest())));
  }

  /** The identity the key stands for; its subject is a short digest prefix, never the key. */
  Optional<Identity> lookup(String presented) {
    var digest = sha256(presented);
    Entry match = null;
    for (var entry : entries) {
      // no early exit: every key costs the same whether or not an earlier one matched
      if (MessageDigest.isEqual(entry.digest(), digest)) {
        match = entry;
      }
    }
    return Optional.ofNullable(match)
        .map(e -> admin
            ? new Identity(e.tenant(), "admin-key:" + e.fingerprint(), Identity.Method.ADMIN_KEY, true)
            : new Identity(e.tenant(), "api-key:" + e.fingerprint(), Identity.Method.API_KEY));
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
