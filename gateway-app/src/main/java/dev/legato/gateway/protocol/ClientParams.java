package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import dev.legato.gateway.protocol.JsonRpc.Failure;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * The members of a client's request params that Legato's methods read, checked: what is missing or
 * malformed is refused with {@link Failure#params} before anything is asked of a thread.
 */
public final class ClientParams {
  private ClientParams() {}

  /** {@code threadId}: required, and a canonical UUID (thread ids name files; nothing else may reach them). */
  public static UUID threadId(JsonNode params) {
    String id = text(params, "threadId");
    if (id == null) {
      throw Failure.params("threadId is required");
    }
    try {
      UUID uuid = UUID.fromString(id);
      if (!uuid.toString().equals(id.toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException(id);
      }
      return uuid;
    } catch (IllegalArgumentException e) {
      throw Failure.params("threadId must be a UUID, not '" + id + "'");
    }
  }

  /** The member as text; null when absent or null. */
  public static String text(JsonNode params, String field) {
    JsonNode value = params.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }

  /** The first of these members that holds text that is not blank; null when none does. */
  public static String firstText(JsonNode params, String... fields) {
    for (String field : fields) {
      String value = text(params, field);
      if (value != null && !value.isBlank()) {
        return value;
      }
    }
    return null;
  }

  /** A boolean member; false when absent. */
  public static boolean flag(JsonNode params, String field) {
    return params.path(field).asBoolean(false);
  }

  /** The user's text: Codex's {@code input:[{type:"text", text}]}, or the seed forms' {@code text} / {@code content}. */
  public static String inputText(JsonNode params) {
    JsonNode input = params.get("input");
    if (input != null && input.isArray()) {
      StringBuilder text = new StringBuilder();
      for (JsonNode part : input) {
        if ("text".equals(part.path("type").asText()) && part.hasNonNull("text")) {
          if (text.length() > 0) {
            text.append('\n');
          }
          text.append(part.get("text").asText());
        }
      }
      return text.toString();
    }
    for (String field : List.of("text", "content")) {
      if (params.hasNonNull(field) && params.get(field).isTextual()) {
        return params.get(field).asText();
      }
    }
    return null;
  }
}
