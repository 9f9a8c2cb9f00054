package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collection;
import java.util.List;
import java.util.UUID;

/**
 * Answers to the calls a Codex client makes before (and besides) its threads: who the server is, the
 * account, configuration, models (Legato's agent types), and the features Legato does not have, answered
 * as empty so that the client carries on. Shapes follow the Codex app-server v2 schema.
 */
public final class Bootstrap {
  /**
   * What {@code initialize} reports as the server's {@code codexHome} (and the base of the config path a
   * config write reports): the schema wants an absolute path, but where Legato keeps its data is none of a
   * client's business, and Legato keeps no Codex home a client could use.
   */
  public static final String CODEX_HOME = "/legato";

  private Bootstrap() {}

  public static ObjectNode initialize(String version, String codexHome) {
    return Json.object()
        .put("userAgent", "legato/" + version + " (" + System.getProperty("os.name") + "; "
            + System.getProperty("os.arch") + ")")
        .put("codexHome", codexHome)
        .put("platformFamily", "unix")
        .put("platformOs", System.getProperty("os.name", "linux").toLowerCase(java.util.Locale.ROOT).contains("mac")
            ? "macos" : "linux");
  }

  /** An API-key account: the client skips its login screens and needs no OpenAI credentials. */
  public static ObjectNode account() {
    ObjectNode result = Json.object();
    result.putObject("account").put("type", "apiKey");
    result.putNull("userId");
    result.put("requiresOpenaiAuth", false);
    return result;
  }

  /**
   * The effective configuration: the default agent type as the model, and the client's working directory
   * trusted (in remote mode folder trust lives on the server; Legato's agents run on Podium, not there).
   */
  public static ObjectNode config(String defaultAgentType, String cwd) {
    ObjectNode result = Json.object();
    ObjectNode config = result.putObject("config");
    config.put("model", defaultAgentType);
    config.put("model_provider", "legato");
    nulls(config, "review_model", "model_context_window", "model_auto_compact_token_limit",
        "model_auto_compact_token_limit_scope", "approval_policy", "approvals_reviewer", "sandbox_mode",
        "sandbox_workspace_write", "forced_chatgpt_workspace_id", "forced_login_method", "web_search",
        "client_search_provider", "tools", "instructions", "developer_instructions", "compact_prompt",
        "model_reasoning_effort", "model_reasoning_summary", "model_verbosity", "service_tier", "analytics",
        "browser_use", "computer_use", "desktop");
    if (cwd != null && !cwd.isBlank()) {
      config.putObject("projects").putObject(cwd).put("trust_level", "trusted");
    }
    result.putObject("origins");
    result.putNull("layers");
    return result;
  }

  public static ObjectNode configRequirements() {
    ObjectNode result = Json.object();
    result.putNull("supportsIndependentSpeedModes");
    result.putNull("requirements");
    return result;
  }

  /** Agent types as Codex models; the default one first and marked so. */
  public static ObjectNode models(List<String> agentTypes, String defaultAgentType) {
    ObjectNode result = Json.object();
    ArrayNode data = result.putArray("data");
    for (String agentType : agentTypes) {
      ObjectNode model = data.addObject();
      model.put("id", agentType).put("model", agentType);
      nulls(model, "upgrade", "upgradeInfo", "availabilityNux");
      model.put("displayName", agentType);
      model.put("description", "Podium agent type " + agentType);
      model.putNull("modelSpecialty");
      model.put("hidden", false);
      model.putArray("supportedReasoningEfforts").addObject()
          .put("reasoningEffort", "medium").put("description", "the agent decides");
      model.put("defaultReasoningEffort", "medium");
      model.putArray("inputModalities").add("text");
      model.put("supportsPersonality", false);
      model.putNull("multiAgentVersion");
      model.putArray("additionalSpeedTiers");
      model.putArray("serviceTiers");
      model.putNull("defaultServiceTier");
      model.putNull("availableAccessPrograms");
      model.put("isDefault", agentType.equals(defaultAgentType));
    }
    result.putNull("nextCursor");
    return result;
  }

  /** {@code {"data":[]}}: hooks, skills, collaboration modes, background terminals — none in Legato. */
  public static ObjectNode emptyData() {
    ObjectNode result = Json.object();
    result.putArray("data");
    return result;
  }

  /** {@code {"data":[], "nextCursor":null}}. */
  public static ObjectNode emptyPage() {
    ObjectNode result = emptyData();
    result.putNull("nextCursor");
    return result;
  }

  /** {@code thread/loaded/list}: the threads this connection follows, in one page. */
  public static ObjectNode loadedThreads(Collection<UUID> threads) {
    ObjectNode result = emptyPage();
    threads.forEach(thread -> result.withArray("data").add(thread.toString()));
    return result;
  }

  public static ObjectNode pluginsInstalled() {
    ObjectNode result = Json.object();
    result.putArray("marketplaces");
    result.putArray("marketplaceLoadErrors");
    return result;
  }

  public static ObjectNode govCloudRequirements() {
    return Json.object().put("isGovCloud", false).put("shouldWarn", false);
  }

  /** No metered limits: Legato does not meter the client. */
  public static ObjectNode rateLimits() {
    ObjectNode result = Json.object();
    result.putNull("ordinaryUsageAllowed");
    ObjectNode snapshot = result.putObject("rateLimits");
    nulls(snapshot, "limitId", "limitName", "normalModelSlug", "primary", "secondary", "credits",
        "individualLimit", "spendControlReached", "planType", "rateLimitReachedType");
    nulls(result, "rateLimitsByLimitId", "rateLimitResetCredits", "accountId", "rateLimitUpsell");
    return result;
  }

  public static ObjectNode noGoal() {
    ObjectNode result = Json.object();
    result.putNull("goal");
    return result;
  }

  /** Sets these members to null: the schema's required-but-nullable fields Legato has no value for. */
  private static void nulls(ObjectNode node, String... fields) {
    for (String field : fields) {
      node.putNull(field);
    }
  }

  /** A configuration write is accepted and changes nothing: Legato's configuration is the server's. */
  public static ObjectNode configWritten(String filePath) {
    ObjectNode result = Json.object().put("status", "ok").put("version", "0").put("filePath", filePath);
    result.putNull("overriddenMetadata");
    return result;
  }
}
