package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import dev.legato.gateway.protocol.JsonRpc.Failure;
import dev.legato.podium.AgentCommand;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * What a client sends, read: the members of its request params that Legato's methods take, checked (what is
 * missing or malformed is refused with {@link Failure#params} before anything is asked of a thread), and its
 * answers to the approvals and questions Legato asked it.
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

  /**
   * The user's text: Codex's {@code input:[{type:"text", text}]}, or the seed forms' {@code text} / {@code content}.
   */
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

  // ---- the client's answers to approvals and questions ---------------------------------------------------

  /**
   * The decision in a client's answer to an approval request: {@code {"decision": "accept" | "acceptForSession"
   * | "decline" | "cancel"}}, a command approval's object decisions (an exec-policy amendment approves for the
   * session; a network-policy amendment approves or declines as its action says), a permissions approval's
   * {@code {"permissions": {...}, "scope"}} (an empty grant declines), the older {@code approved},
   * {@code approved_for_session}, {@code denied}, {@code abort}, or Legato's {@code {"approved": true|false}}.
   *
   * @throws IllegalArgumentException when the answer holds no decision
   */
  public static AgentCommand.Decision decision(JsonNode clientResult) {
    if (clientResult == null || !clientResult.isObject()) {
      throw new IllegalArgumentException("an approval answer is an object with a decision");
    }
    JsonNode decision = clientResult.path("decision");
    if (decision.isTextual()) {
      return switch (decision.asText()) {
        case "accept", "approved" -> AgentCommand.Decision.ACCEPT;
        case "acceptForSession", "approved_for_session" -> AgentCommand.Decision.ACCEPT_FOR_SESSION;
        case "decline", "denied" -> AgentCommand.Decision.DECLINE;
        case "cancel", "abort" -> AgentCommand.Decision.CANCEL;
        default -> throw new IllegalArgumentException("unknown decision: " + decision.asText());
      };
    }
    if (decision.isObject()) {
      if (decision.has("acceptWithExecpolicyAmendment")) {
        return AgentCommand.Decision.ACCEPT_FOR_SESSION;
      }
      JsonNode network = decision.path("applyNetworkPolicyAmendment").path("network_policy_amendment");
      if (!network.isMissingNode()) {
        return "deny".equals(network.path("action").asText())
            ? AgentCommand.Decision.DECLINE : AgentCommand.Decision.ACCEPT_FOR_SESSION;
      }
      throw new IllegalArgumentException("unknown decision: " + decision);
    }
    JsonNode permissions = clientResult.path("permissions");
    if (permissions.isObject()) {
      boolean granted = granted(permissions.path("fileSystem")) || granted(permissions.path("network"));
      if (!granted) {
        return AgentCommand.Decision.DECLINE;
      }
      return "session".equals(clientResult.path("scope").asText())
          ? AgentCommand.Decision.ACCEPT_FOR_SESSION : AgentCommand.Decision.ACCEPT;
    }
    JsonNode approved = clientResult.path("approved");
    if (approved.isBoolean()) {
      return approved.asBoolean() ? AgentCommand.Decision.ACCEPT : AgentCommand.Decision.DECLINE;
    }
    throw new IllegalArgumentException("an approval answer needs a decision");
  }

  /**
   * The answers in a client's answer to {@code item/tool/requestUserInput}: {@code {"answers": {questionId:
   * {"answers": [..]}}}}; a bare list or string per question is taken too (Legato's {@code item/answer}).
   */
  public static Map<String, List<String>> answers(JsonNode clientResult) {
    Map<String, List<String>> answers = new LinkedHashMap<>();
    JsonNode all = clientResult == null ? null : clientResult.path("answers");
    if (all == null || !all.isObject()) {
      return answers;
    }
    Iterator<Map.Entry<String, JsonNode>> fields = all.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      JsonNode value = field.getValue().isObject() ? field.getValue().path("answers") : field.getValue();
      List<String> chosen = new ArrayList<>();
      if (value.isArray()) {
        value.forEach(answer -> chosen.add(answer.asText()));
      } else if (value.isValueNode() && !value.isNull()) {
        chosen.add(value.asText());
      }
      answers.put(field.getKey(), List.copyOf(chosen));
    }
    return answers;
  }

  /** Whether a granted permission profile part grants anything. */
  private static boolean granted(JsonNode part) {
    if (part == null || part.isNull() || part.isMissingNode()) {
      return false;
    }
    if (part.isObject()) {
      for (JsonNode value : part) {
        if ((value.isArray() && !value.isEmpty()) || (value.isBoolean() && value.asBoolean())) {
          return true;
        }
      }
      return false;
    }
    return true;
  }
}
