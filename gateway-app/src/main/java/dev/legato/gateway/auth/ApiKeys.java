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
 * The static API keys, each naming its tenant. Keys are held only as SHA-256 digests and a
 * presented key is compared against every one of them in constant time, so neither the timing
 * nor a heap dump gives a key away.
 */
final class ApiKeys {

  private record Entry(byte[] digest, String tenant, String fingerprint) {}

  private final List<Entry> entries;

  private ApiKeys(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  /** Parses {@code key=tenant} entries; the config path is only used in error messages. */
  static ApiKeys parse(List<String> specs, String path) {
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
    return new ApiKeys(entries);
  }

  boolean isEmpty() {
    return entries.isEmpty();
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
        .map(e -> new Identity(e.tenant(), "api-key:" + e.fingerprint(), Identity.Method.API_KEY));
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
