package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.keyword.AnnotationKeyword;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The Codex app-server contract as the pinned Codex binary generates it, for tests: checks a JSON-RPC
 * message exactly as it travels on Legato's wire (without the {@code "jsonrpc"} member) against the
 * generated JSON Schema and returns every violation, an empty list when the message conforms. A
 * violation reads {@code <JSON pointer into the message>: <what is wrong>}, e.g.
 * {@code /params/thread: required property 'cwd' not found}.
 *
 * <p>The schema is generated once per JVM into {@code target/codex-schema} (again when it is absent
 * or was made by another binary). The binary comes from the system property {@code legato.codex.bin}
 * or the environment variable {@code LEGATO_CODEX_BIN}; {@code ./legato test} sets both.
 */
public final class CodexSchema {
  public static final String BIN_PROPERTY = "legato.codex.bin";
  public static final String BIN_ENV = "LEGATO_CODEX_BIN";
  static final String SCHEMA_DIR_PROPERTY = "legato.codex.schemaDir";
  /** The one file that holds every definition; the per-type files repeat parts of it. */
  static final String BUNDLE = "codex_app_server_protocol.schemas.json";
  private static final String STAMP = ".generated-by";

  /**
   * Client requests whose response type is named neither after their params type nor after their
   * method; every other method follows one of those rules. Taken from Codex's request table where
   * public sources show it; the three newest (accountSession/list, account/gatewayOAuth/cancel,
   * account/securitySetup/read) are the only response types of the schema left for them.
   */
  private static final Map<String, String> IRREGULAR_RESPONSES = Map.of(
      "account/logout", "LogoutAccountResponse",
      "account/gatewayOAuth/cancel", "GatewayOAuthCancelResponse",
      "account/securitySetup/read", "GetAccountSecuritySetupResponse",
      "account/workspaceMessages/read", "GetWorkspaceMessagesResponse",
      "accountSession/list", "AccountSessionsResponse",
      "config/mcpServer/reload", "McpServerRefreshResponse",
      "config/value/write", "ConfigWriteResponse",
      "config/batchWrite", "ConfigWriteResponse",
      "externalAgentConfig/import/readHistories", "ExternalAgentConfigImportHistoriesReadResponse");

  /** {@code {id, error: {code, message, data?}}}, the same for every method. */
  private static final String ERROR_RESPONSE = "#/definitions/JSONRPCError";
  /** {@code {id, result}} with any result: the envelope the result's own check leaves out. */
  private static final String RESPONSE_ENVELOPE = "#/definitions/JSONRPCResponse";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static CodexSchema loaded;

  private final String bundleIri;
  private final SchemaRegistry registry;
  private final Map<String, Schema> schemas = new ConcurrentHashMap<>();
  private final Map<String, String> notifications;
  private final Map<String, String> serverRequests;
  private final Map<String, String> clientRequests;
  private final Map<String, String> clientNotifications;
  private final Map<String, String> responses;
  private final Map<String, String> clientResponses;

  private CodexSchema(Path bundle) throws IOException {
    this.bundleIri = bundle.toUri().toString();
    String text = Files.readString(bundle, StandardCharsets.UTF_8);
    // Codex nests the v2 types one level down (definitions/v2/<Type>); to draft-07 "v2" is a schema
    // whose keys are unknown keywords. They are reached through $ref only, so annotate them quietly.
    Dialect draft7 = Dialect.builder(Dialects.getDraft7())
        .unknownKeywordFactory((keyword, context) -> new AnnotationKeyword(keyword))
        .build();
    // The validator reads no files itself: the bundle is handed to it under its own IRI.
    this.registry = SchemaRegistry.withDefaultDialect(draft7, builder -> builder.schemas(Map.of(bundleIri, text)));
    JsonNode definitions = JSON.readTree(text).path("definitions");
    this.notifications = branchesByMethod(definitions, "ServerNotification");
    this.serverRequests = branchesByMethod(definitions, "ServerRequest");
    this.clientRequests = branchesByMethod(definitions, "ClientRequest");
    this.clientNotifications = branchesByMethod(definitions, "ClientNotification");
    this.responses = responseDefinitions(definitions, "ClientRequest", IRREGULAR_RESPONSES);
    this.clientResponses = responseDefinitions(definitions, "ServerRequest", Map.of());
  }

  /** The schema of the pinned Codex, generated on first use in this JVM. */
  public static synchronized CodexSchema get() {
    if (loaded == null) {
      Path dir = Path.of(System.getProperty(SCHEMA_DIR_PROPERTY, "target/codex-schema")).toAbsolutePath();
      try {
        loaded = new CodexSchema(generate(codexBinary(), dir).resolve(BUNDLE));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the generated Codex schema in " + dir, e);
      }
    }
    return loaded;
  }

  // ---- validation ----------------------------------------------------------------------------

  /** A server→client notification {@code {method, params}}; an unknown method is a violation. */
  public List<String> validateNotification(JsonNode message) {
    return validateByMethod("notification", message, notifications, Set.of("method", "params"), false);
  }

  /** A server→client request {@code {id, method, params}}, e.g. an approval. */
  public List<String> validateServerRequest(JsonNode message) {
    return validateByMethod("server request", message, serverRequests, Set.of("id", "method", "params"), false);
  }

  /**
   * The server's response to the client request {@code requestMethod}: {@code {id, result}} with the
   * result that method defines, or a JSON-RPC error {@code {id, error: {code, message, data?}}}.
   */
  public List<String> validateResponse(String requestMethod, JsonNode message) {
    return validateAnswer("client request", requestMethod, message, responses, false);
  }

  /** A client→server request as a client may send it (a {@code "jsonrpc":"2.0"} member is allowed). */
  public List<String> validateClientRequest(JsonNode message) {
    return validateByMethod("client request", message, clientRequests,
        Set.of("id", "method", "params", "trace", "jsonrpc"), true);
  }

  /** A client→server notification such as {@code initialized}. */
  public List<String> validateClientNotification(JsonNode message) {
    return validateByMethod("client notification", message, clientNotifications,
        Set.of("method", "params", "jsonrpc"), true);
  }

  /** A client's answer to the server request {@code serverRequestMethod}, e.g. an approval decision. */
  public List<String> validateClientResponse(String serverRequestMethod, JsonNode message) {
    return validateAnswer("server request", serverRequestMethod, message, clientResponses, true);
  }

  public void assertValidNotification(JsonNode message) {
    assertNoErrors("notification", message, validateNotification(message));
  }

  public void assertValidServerRequest(JsonNode message) {
    assertNoErrors("server request", message, validateServerRequest(message));
  }

  public void assertValidResponse(String requestMethod, JsonNode message) {
    assertNoErrors("response to " + requestMethod, message, validateResponse(requestMethod, message));
  }

  public void assertValidClientRequest(JsonNode message) {
    assertNoErrors("client request", message, validateClientRequest(message));
  }

  public void assertValidClientResponse(String serverRequestMethod, JsonNode message) {
    assertNoErrors("answer to " + serverRequestMethod, message,
        validateClientResponse(serverRequestMethod, message));
  }

  // ---- what the schema defines -----------------------------------------------------------------

  public Set<String> notificationMethods() {
    return Collections.unmodifiableSet(notifications.keySet());
  }

  public Set<String> serverRequestMethods() {
    return Collections.unmodifiableSet(serverRequests.keySet());
  }

  public Set<String> clientRequestMethods() {
    return Collections.unmodifiableSet(clientRequests.keySet());
  }

  /** Client request methods whose response the schema defines: all of them, unless Codex added one. */
  Set<String> clientRequestMethodsWithResponse() {
    return Collections.unmodifiableSet(responses.keySet());
  }

  // ---- internals -------------------------------------------------------------------------------

  private List<String> validateByMethod(String kind, JsonNode message, Map<String, String> branches,
      Set<String> members, boolean fromClient) {
    if (!message.isObject()) {
      return notAnObject(message);
    }
    List<String> errors = envelope(message, members, fromClient);
    JsonNode method = message.get("method");
    if (method == null || !method.isTextual()) {
      errors.add("/method: a " + kind + " needs a string method");
      return errors;
    }
    String branch = branches.get(method.asText());
    if (branch == null) {
      errors.add("/method: '" + method.asText() + "' is not a " + kind + " method of the Codex schema");
      return errors;
    }
    errors.addAll(check(branch, message));
    return errors;
  }

  private List<String> validateAnswer(String kind, String requestMethod, JsonNode message,
      Map<String, String> definitions, boolean fromClient) {
    if (!message.isObject()) {
      return notAnObject(message);
    }
    boolean isError = message.has("error");
    List<String> errors = envelope(message,
        isError ? Set.of("id", "error", "jsonrpc") : Set.of("id", "result", "jsonrpc"), fromClient);
    if (isError) {
      errors.addAll(check(ERROR_RESPONSE, message));
      return errors;
    }
    errors.addAll(check(RESPONSE_ENVELOPE, message));
    if (!message.has("result")) {
      errors.add("/: a response carries either result or error");
      return errors;
    }
    String definition = definitions.get(requestMethod);
    if (definition == null) {
      errors.add("no response is defined for the " + kind + " method '" + requestMethod + "'");
      return errors;
    }
    for (String error : check(definition, message.get("result"))) {
      errors.add("/result" + (error.startsWith("/:") ? error.substring(1) : error));
    }
    return errors;
  }

  private static List<String> notAnObject(JsonNode message) {
    return new ArrayList<>(List.of("/: a JSON-RPC message is an object, not " + message.getNodeType()));
  }

  /** Members outside the envelope; the schema's objects are open, so it would not flag them. */
  private static List<String> envelope(JsonNode message, Set<String> members, boolean fromClient) {
    List<String> errors = new ArrayList<>();
    message.fieldNames().forEachRemaining(name -> {
      if (name.equals("jsonrpc") && !fromClient) {
        errors.add("/jsonrpc: Legato's wire omits the jsonrpc member, as Codex's does");
      } else if (name.equals("jsonrpc") && !"2.0".equals(message.get(name).asText())) {
        errors.add("/jsonrpc: must be \"2.0\" when present");
      } else if (!members.contains(name)) {
        errors.add("/" + name + ": not a member of this kind of message (" + String.join(", ", members) + ")");
      }
    });
    return errors;
  }

  private List<String> check(String pointer, JsonNode instance) {
    Schema schema = schemas.computeIfAbsent(pointer, p -> registry.getSchema(SchemaLocation.of(bundleIri + p)));
    String text;
    try {
      text = JSON.writeValueAsString(instance);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> errors = new ArrayList<>();
    for (Error error : schema.validate(text, InputFormat.JSON)) {
      String where = error.getInstanceLocation().toString();
      errors.add((where.isEmpty() ? "/" : where) + ": " + error.getMessage());
    }
    return errors;
  }

  private static void assertNoErrors(String kind, JsonNode message, List<String> errors) {
    if (!errors.isEmpty()) {
      throw new AssertionError("the " + kind + " does not conform to the Codex schema:\n  "
          + String.join("\n  ", errors) + "\nmessage: " + message);
    }
  }

  /** Method → JSON pointer of its branch in the {@code oneOf} of a message union such as ServerNotification. */
  private static Map<String, String> branchesByMethod(JsonNode definitions, String union) {
    Map<String, String> branches = new LinkedHashMap<>();
    JsonNode oneOf = definitions.path(union).path("oneOf");
    for (int i = 0; i < oneOf.size(); i++) {
      for (JsonNode method : oneOf.get(i).path("properties").path("method").path("enum")) {
        branches.put(method.asText(), "#/definitions/" + union + "/oneOf/" + i);
      }
    }
    if (branches.isEmpty()) {
      throw new IllegalStateException("the generated Codex schema has no methods in " + union);
    }
    return branches;
  }

  /**
   * Request method → JSON pointer of its response type. The schema does not link them: Codex names a
   * response after the params type ({@code ThreadStartParams} → {@code ThreadStartResponse}), or, for
   * methods without params, after the method ({@code configRequirements/read} →
   * {@code ConfigRequirementsReadResponse}); a few are irregular.
   */
  private static Map<String, String> responseDefinitions(JsonNode definitions, String union,
      Map<String, String> irregular) {
    Map<String, String> responses = new LinkedHashMap<>();
    for (JsonNode branch : definitions.path(union).path("oneOf")) {
      String method = branch.path("properties").path("method").path("enum").path(0).asText();
      List<String> candidates = new ArrayList<>();
      if (irregular.containsKey(method)) {
        candidates.add(irregular.get(method));
      }
      String params = paramsType(branch.path("properties").path("params"));
      if (params != null && params.endsWith("Params")) {
        candidates.add(params.substring(0, params.length() - "Params".length()) + "Response");
      }
      StringBuilder fromMethod = new StringBuilder();
      for (String segment : method.split("/")) {
        fromMethod.append(Character.toUpperCase(segment.charAt(0))).append(segment.substring(1));
      }
      candidates.add(fromMethod + "Response");
      for (String candidate : candidates) {
        String pointer = definitionPointer(definitions, candidate);
        if (pointer != null) {
          responses.put(method, pointer);
          break;
        }
      }
    }
    return responses;
  }

  /** The definition a params schema refers to, directly or as the non-null half of a nullable. */
  private static String paramsType(JsonNode params) {
    String ref = params.path("$ref").asText(null);
    if (ref == null) {
      for (JsonNode alternative : params.path("anyOf")) {
        ref = alternative.path("$ref").asText(null);
        if (ref != null) {
          break;
        }
      }
    }
    return ref == null ? null : ref.substring(ref.lastIndexOf('/') + 1);
  }

  private static String definitionPointer(JsonNode definitions, String name) {
    if (definitions.path("v2").has(name)) {
      return "#/definitions/v2/" + name;
    }
    return definitions.has(name) ? "#/definitions/" + name : null;
  }

  // ---- generation ------------------------------------------------------------------------------

  /** The pinned Codex binary named by {@code -Dlegato.codex.bin} or {@code LEGATO_CODEX_BIN}; fails saying how to get it. */
  public static Path codexBinary() {
    String bin = System.getProperty(BIN_PROPERTY, "");
    String source = "-D" + BIN_PROPERTY;
    if (bin.isBlank()) {
      bin = System.getenv().getOrDefault(BIN_ENV, "");
      source = BIN_ENV;
    }
    if (bin.isBlank()) {
      throw new IllegalStateException("The Codex contract tests need the pinned Codex binary, and neither -D"
          + BIN_PROPERTY + " nor " + BIN_ENV + " is set. Run the tests with ./legato test, which installs it,"
          + " or run scripts/provision-test-tools and pass the path it prints as -D" + BIN_PROPERTY + "=<path>"
          + " (or export " + BIN_ENV + "=<path>).");
    }
    Path path = Path.of(bin);
    if (!Files.isExecutable(path)) {
      throw new IllegalStateException(source + " names " + path + ", which is not an executable file;"
          + " run scripts/provision-test-tools to (re)install the pinned Codex CLI.");
    }
    return path.toAbsolutePath();
  }

  /** Generates the schema into {@code dir} unless that binary already did; returns {@code dir}. */
  static Path generate(Path codex, Path dir) throws IOException {
    Path stamp = dir.resolve(STAMP);
    if (Files.isRegularFile(dir.resolve(BUNDLE)) && Files.isRegularFile(stamp)
        && Files.readString(stamp).equals(codex.toString())) {
      return dir;
    }
    Files.createDirectories(dir.getParent());
    Path fresh = Files.createTempDirectory(dir.getParent(), "codex-schema-");
    Path home = Files.createDirectories(dir.resolveSibling("codex-home"));
    Path log = fresh.resolveSibling(fresh.getFileName() + ".log");
    ProcessBuilder command = new ProcessBuilder(codex.toString(), "app-server", "generate-json-schema",
        "--experimental", "--out", fresh.toString())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    // Codex keeps state under CODEX_HOME; the tests should not touch the user's.
    command.environment().put("CODEX_HOME", home.toString());
    try {
      Process process = command.start();
      if (!process.waitFor(2, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new IllegalStateException("codex app-server generate-json-schema did not finish in 2 minutes");
      }
      if (process.exitValue() != 0 || !Files.isRegularFile(fresh.resolve(BUNDLE))) {
        throw new IllegalStateException("codex app-server generate-json-schema failed (exit " + process.exitValue()
            + "):\n" + Files.readString(log, StandardCharsets.UTF_8));
      }
      Files.writeString(fresh.resolve(STAMP), codex.toString());
      deleteRecursively(dir);
      Files.move(fresh, dir, StandardCopyOption.ATOMIC_MOVE);
      return dir;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while generating the Codex schema", e);
    } finally {
      Files.deleteIfExists(log);
      deleteRecursively(fresh);
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }
}
