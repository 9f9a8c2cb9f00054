package dev.legato.gateway.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Codex app-server messages as a correct server sends them (Codex 0.169.0, every field a Codex
 * server serializes, nulls included), for tests to compare against or to break on purpose. Each call
 * returns a fresh tree, so a test may change it.
 */
public final class CodexSamples {
  public static final String THREAD_ID = "0199a2c4-5d8e-7f10-8a2b-3c4d5e6f7a80";
  public static final String TURN_ID = "0199a2c4-6e9f-7a21-9b3c-4d5e6f7a8b91";
  public static final String ITEM_ID = "msg_0199a2c4";
  public static final String CWD = "/srv/projects/demo";
  public static final long CREATED_AT = 1_764_000_000L;

  private static final ObjectMapper JSON = new ObjectMapper();

  private CodexSamples() {}

  /** A fresh, idle thread with no turns, as {@code thread/start} and {@code thread/started} carry it. */
  public static ObjectNode thread() {
    return object("""
        {
          "id": "%1$s",
          "sessionId": "%1$s",
          "environments": null,
          "extra": null,
          "forkedFromId": null,
          "attachedToThreadId": null,
          "parentThreadId": null,
          "preview": "",
          "ephemeral": false,
          "section": null,
          "sectionEnteredAt": null,
          "projectId": null,
          "historyMode": "legacy",
          "modelProvider": "legato",
          "model": "claude-agent",
          "reasoningEffort": null,
          "createdAt": %2$d,
          "updatedAt": %2$d,
          "recencyAt": %2$d,
          "status": {"type": "idle"},
          "path": null,
          "cwd": "%3$s",
          "cliVersion": "0.1.0",
          "originator": null,
          "source": "appServer",
          "canAcceptDirectInput": true,
          "threadSource": null,
          "agentNickname": null,
          "agentRole": null,
          "gitInfo": null,
          "name": null,
          "daybreakEnabled": null,
          "turns": []
        }
        """.formatted(THREAD_ID, CREATED_AT, CWD));
  }

  public static ObjectNode threadStarted() {
    ObjectNode message = object("{\"method\": \"thread/started\", \"params\": {}}");
    ((ObjectNode) message.get("params")).set("thread", thread());
    return message;
  }

  public static ObjectNode agentMessageDelta(String delta) {
    ObjectNode message = object("""
        {
          "method": "item/agentMessage/delta",
          "params": {"threadId": "%s", "turnId": "%s", "itemId": "%s", "delta": ""}
        }
        """.formatted(THREAD_ID, TURN_ID, ITEM_ID));
    ((ObjectNode) message.get("params")).put("delta", delta);
    return message;
  }

  /** The answer to {@code initialize}; Legato echoes the id with its type (here the TUI's string id). */
  public static ObjectNode initializeResponse() {
    return object("""
        {
          "id": "initialize",
          "result": {
            "userAgent": "legato/0.1.0 (Linux; x86_64)",
            "codexHome": "/var/lib/legato/codex-home",
            "platformFamily": "unix",
            "platformOs": "linux"
          }
        }
        """);
  }

  public static ObjectNode threadStartResponse() {
    ObjectNode message = object("""
        {
          "id": 7,
          "result": {
            "model": "claude-agent",
            "modelProvider": "legato",
            "serviceTier": null,
            "disabledPluginIds": [],
            "cwd": "%1$s",
            "runtimeWorkspaceRoots": ["%1$s"],
            "instructionSources": [],
            "approvalPolicy": "on-request",
            "approvalsReviewer": "user",
            "sandbox": {
              "type": "workspaceWrite",
              "writableRoots": ["%1$s"],
              "networkAccess": false,
              "excludeTmpdirEnvVar": false,
              "excludeSlashTmp": false
            },
            "activePermissionProfile": null,
            "reasoningEffort": null,
            "multiAgentMode": "explicitRequestOnly"
          }
        }
        """.formatted(CWD));
    ((ObjectNode) message.get("result")).set("thread", thread());
    return message;
  }

  /** Asks the client to approve a shell command; the id is Legato's own request id. */
  public static ObjectNode commandExecutionApprovalRequest() {
    return object("""
        {
          "id": 0,
          "method": "item/commandExecution/requestApproval",
          "params": {
            "kind": "command",
            "threadId": "%s",
            "turnId": "%s",
            "itemId": "call_ls",
            "startedAtMs": %d,
            "environmentId": null,
            "reason": null,
            "command": "ls -la",
            "cwd": "%s",
            "commandActions": [{"type": "listFiles", "command": "ls -la", "path": null}],
            "availableDecisions": ["accept", "acceptForSession", "decline", "cancel"]
          }
        }
        """.formatted(THREAD_ID, TURN_ID, CREATED_AT * 1000 + 250, CWD));
  }

  /** A JSON-RPC error answer, as for a request before {@code initialize}. */
  public static ObjectNode errorResponse(Object id, int code, String message) {
    ObjectNode error = JSON.createObjectNode();
    error.put("code", code).put("message", message);
    ObjectNode response = JSON.createObjectNode();
    response.set("id", JSON.valueToTree(id));
    response.set("error", error);
    return response;
  }

  public static ObjectNode object(String json) {
    try {
      return (ObjectNode) JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not a JSON object: " + json, e);
    }
  }
}
