package dev.legato.thread;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * Reads events stored while they were nested in {@code ThreadEntity} ({@code dev.legato.thread.ThreadEntity$TurnStarted})
 * as the {@link ThreadEvent} of the same name: journals written before the thread's protocol had files of
 * its own keep recovering. Registered in reference.conf under each old name; the JSON is unchanged.
 */
public final class RenamedEvents extends JacksonMigration {
  private static final String OLD = "dev.legato.thread.ThreadEntity$";

  @Override
  public int currentVersion() {
    return 2; // old manifests carry no version (1): 1 < 2 sends them through transformClassName
  }

  @Override
  public String transformClassName(int fromVersion, String className) {
    return className.startsWith(OLD) ? ThreadEvent.class.getName() + "$" + className.substring(OLD.length()) : className;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    return json;
  }
}
