package dev.legato.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.legato.gateway.protocol.Json;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.UUID;

/**
 * {@code ./legato restore <threadId> [--at <ISO time>]}: asks a running Legato to restore a thread from its
 * replica ({@code POST /admin/threads/{id}/restore}): a deleted thread comes back as it was deleted, a live
 * one is rolled back to the moment given. The node does the work, so the thread's files are never written
 * by two processes; this only speaks to it, as an operator.
 */
public final class RestoreCommand {
  static final String USAGE = """
      usage: ./legato restore <threadId> [--at <ISO time>] [--url URL] [--admin-key KEY]
        <threadId>    the thread, deleted or live
        --at          the moment to restore, ISO-8601 with its zone (2026-12-05T10:15:30Z); default: the newest
                      state (for a deleted thread, the state it was deleted in)
        --url         the running Legato (default http://127.0.0.1:$LEGATO_PORT, else :8080)
        --admin-key   an operator's key (default $LEGATO_ADMIN_KEY); none is needed on loopback while Legato
                      has no credential configured
      """;

  private RestoreCommand() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String[] args) {
    String thread = null;
    String at = null;
    String port = System.getenv().getOrDefault("LEGATO_PORT", "8080");
    String url = "http://127.0.0.1:" + port;
    String key = System.getenv("LEGATO_ADMIN_KEY");
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--help") || arg.equals("-h")) {
        System.out.print(USAGE);
        return 0;
      }
      if (arg.startsWith("--")) {
        if (i + 1 >= args.length) {
          return usage("missing value for " + arg);
        }
        String value = args[++i];
        switch (arg) {
          case "--at" -> at = value;
          case "--url" -> url = value;
          case "--admin-key" -> key = value;
          default -> {
            return usage("unknown option " + arg);
          }
        }
      } else if (thread == null) {
        thread = arg;
      } else {
        return usage("one thread at a time: '" + arg + "' is one too many");
      }
    }
    if (thread == null) {
      return usage("which thread? give its id");
    }
    try {
      if (!UUID.fromString(thread).toString().equals(thread)) {
        throw new IllegalArgumentException();
      }
    } catch (IllegalArgumentException e) {
      return usage("not a thread id: " + thread);
    }
    if (at != null) {
      try {
        OffsetDateTime.parse(at);
      } catch (DateTimeParseException e) {
        return usage("--at must be an ISO-8601 time with its zone, such as 2026-12-05T10:15:30Z, not '" + at + "'");
      }
    }
    URI target;
    try {
      target = URI.create(url.replaceAll("/+$", "") + "/admin/threads/" + thread + "/restore"
          + (at == null ? "" : "?at=" + URLEncoder.encode(at, StandardCharsets.UTF_8)));
    } catch (IllegalArgumentException e) {
      return usage("not a URL: " + url);
    }
    HttpRequest.Builder request = HttpRequest.newBuilder(target).timeout(Duration.ofMinutes(3))
        .POST(HttpRequest.BodyPublishers.noBody());
    if (key != null && !key.isBlank()) {
      request.header("Authorization", "Bearer " + key);
    }
    HttpResponse<String> response;
    try {
      response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
          .send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      System.err.println("legato restore: no Legato answers at " + url + " (start it with ./legato run, or pass --url)");
      return 1;
    } catch (IOException e) {
      System.err.println("legato restore: " + url + ": " + e);
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
    return report(thread, response.statusCode(), response.body());
  }

  private static int report(String thread, int status, String body) {
    JsonNode json;
    try {
      json = Json.read(body);
    } catch (IOException notJson) {
      json = null;
    }
    if (status != 200 || json == null) {
      String reason = json != null && json.hasNonNull("error") ? json.get("error").asText() : body.strip();
      System.err.println("legato restore: " + thread + " not restored (HTTP " + status + "): " + reason);
      return 1;
    }
    System.out.println("restored thread " + thread + " to its state at " + json.path("stateAt").asText("?")
        + " (replica generation " + json.path("generation").asText("?") + ")");
    if (!json.path("complete").asBoolean(true)) {
      System.out.println("  the replica is damaged: " + json.path("problem").asText()
          + "; the thread holds every transaction before that point");
    }
    JsonNode listing = json.path("listing");
    if (listing.isObject()) {
      System.out.println("  listed for tenant " + json.path("tenant").asText() + (listing.path("archived").asBoolean()
          ? " (archived)" : "") + "; clients see it in thread/list and can resume it");
    } else if (json.hasNonNull("tenant")) {
      System.out.println("  tenant " + json.path("tenant").asText());
    } else {
      System.out.println("  the thread had not been created yet at that moment, or belongs to no tenant");
    }
    return 0;
  }

  private static int usage(String problem) {
    System.err.println("legato restore: " + problem);
    System.err.print(USAGE);
    return 2;
  }
}
