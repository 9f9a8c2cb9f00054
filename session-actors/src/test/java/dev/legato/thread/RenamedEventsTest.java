package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import dev.legato.thread.ThreadEvent.ApprovalDecided;
import dev.legato.thread.ThreadEvent.ApprovalRequested;
import dev.legato.thread.ThreadEvent.TurnStarted;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Journals written while the events were nested in ThreadEntity recover: their old names read as ThreadEvents. */
class RenamedEventsTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void anEventStoredUnderItsOldNameReadsAsTheThreadEventOfThatName() {
    ApprovalRequested request = new ApprovalRequested("turn_1", "req_1", "command", "ls", "/work", "why", 1L, "call_1", null);
    for (ThreadEvent event : List.of(new TurnStarted("turn_1", "msg_1", "hello", 42L),
        new ApprovalDecided(request, "accept", 43L))) {
      Serializer serializer = serialization.findSerializerFor(event);
      byte[] bytes = serializer.toBinary(event);
      String oldName = "dev.legato.thread.ThreadEntity$" + event.getClass().getSimpleName();
      Object read = serialization.deserialize(bytes, serializer.identifier(), oldName).get();
      assertEquals(event, read);
    }
  }

  @Test
  void everyEventHasItsOldNameMigrated() {
    Config migrations = testKit.system().settings().config().getConfig("pekko.serialization.jackson.migrations");
    List<String> missing = new ArrayList<>();
    for (Class<?> type : ThreadEvent.class.getPermittedSubclasses()) {
      String oldName = "\"dev.legato.thread.ThreadEntity$" + type.getSimpleName() + "\"";
      if (!migrations.hasPath(oldName)) {
        missing.add(type.getSimpleName());
      }
    }
    assertTrue(missing.isEmpty(), "events without a migration from their old name: " + missing);
  }
}
