package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import dev.legato.thread.ThreadEvent.ApprovalDecided;
import dev.legato.thread.ThreadEvent.ApprovalRequested;
import dev.legato.thread.ThreadEvent.Question;
import dev.legato.thread.ThreadEvent.QuestionAnswered;
import dev.legato.thread.ThreadEvent.QuestionAsked;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Followers on other nodes read a thread's events by logical names, never by Java class names, while the
 * journal keeps storing each event as before: by its class, in bytes that carry no name.
 */
class ThreadEventNamesTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
  static final ApprovalRequested APPROVAL =
      new ApprovalRequested("turn_1", "req_1", "command", "ls", "/work", "why", 1L, "call_1", null);
  static final QuestionAsked QUESTION = new QuestionAsked("turn_1", "q_1",
      List.of(new Question("color", "Color", "Which one?", List.of("red", "blue"))), 2L);

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void everyEventAndPendingRequestHasALogicalNameOfItsOwn() {
    Map<Class<?>, String> names = names(ThreadEvent.class);
    List<String> unnamed = new ArrayList<>();
    for (Class<?> type : ThreadEvent.class.getPermittedSubclasses()) {
      if (names.getOrDefault(type, "").isBlank()) {
        unnamed.add(type.getSimpleName());
      }
    }
    assertTrue(unnamed.isEmpty(), "events without a logical name in ThreadEvent's @JsonSubTypes: " + unnamed);
    assertEquals(names.size(), new HashSet<>(names.values()).size(), "each name names one event: " + names);
    Map<Class<?>, String> pending = names(ThreadEvent.Pending.class);
    for (Class<?> type : ThreadEvent.Pending.class.getPermittedSubclasses()) {
      assertEquals(names.get(type), pending.get(type), type.getSimpleName() + " is named as the event it is");
    }
  }

  @Test
  void aPersistedEventCrossesNodesByItsNameNotItsClassAndReadsBackEqual() {
    for (ThreadEvent event : everyEvent()) {
      ThreadUpdate.Persisted update = new ThreadUpdate.Persisted(7, event);
      String wire = new String(bytes(update), StandardCharsets.ISO_8859_1);
      assertFalse(wire.contains(event.getClass().getName()) || wire.contains("dev.legato"), wire);
      assertTrue(wire.contains(names(ThreadEvent.class).get(event.getClass())), wire);
      assertEquals(update, roundTrip(update));
    }
  }

  @Test
  void theNewsThatAnEntityMovedCrossesNodes() {
    assertEquals(new ThreadUpdate.Moved(), roundTrip(new ThreadUpdate.Moved()));
  }

  @Test
  void aPendingRequestCrossesNodesByItsName() {
    for (ThreadEvent.Pending request : List.<ThreadEvent.Pending>of(APPROVAL, QUESTION)) {
      ThreadUpdate.PendingRequest update = new ThreadUpdate.PendingRequest(request);
      assertFalse(new String(bytes(update), StandardCharsets.ISO_8859_1).contains("dev.legato"));
      assertEquals(update, roundTrip(update));
    }
  }

  /** What the journal writes (EventCodec: the event's own serializer, manifest and bytes) is as it always was. */
  @Test
  void theJournalStoresAnEventByItsClassInBytesThatCarryNoName() throws Exception {
    ObjectMapper cbor = new ObjectMapper(new CBORFactory());
    for (ThreadEvent event : everyEvent()) {
      Serializer serializer = serialization.findSerializerFor(event);
      assertEquals(event.getClass().getName(), Serializers.manifestFor(serializer, event));
      JsonNode stored = cbor.readTree(serializer.toBinary(event));
      Set<String> fields = new HashSet<>();
      stored.fieldNames().forEachRemaining(fields::add);
      Set<String> components = new HashSet<>();
      Arrays.stream(event.getClass().getRecordComponents()).map(RecordComponent::getName).forEach(components::add);
      assertEquals(components, fields, event.getClass().getSimpleName() + ": only its own fields");
    }
  }

  private static Map<Class<?>, String> names(Class<?> base) {
    Map<Class<?>, String> names = new HashMap<>();
    for (JsonSubTypes.Type type : base.getAnnotation(JsonSubTypes.class).value()) {
      names.put(type.value(), type.name());
    }
    return names;
  }

  /** One of every event, each field set (records within events as the thread writes them). */
  private static List<ThreadEvent> everyEvent() {
    List<ThreadEvent> events = new ArrayList<>();
    for (Class<?> type : ThreadEvent.class.getPermittedSubclasses()) {
      if (type == ApprovalDecided.class) {
        events.add(new ApprovalDecided(APPROVAL, "accept", 3L));
      } else if (type == QuestionAnswered.class) {
        events.add(new QuestionAnswered(QUESTION, Map.of("color", List.of("red")), false, 4L));
      } else if (type == QuestionAsked.class) {
        events.add(QUESTION);
      } else {
        events.add(filledIn(type));
      }
    }
    return events;
  }

  private static ThreadEvent filledIn(Class<?> type) {
    RecordComponent[] components = type.getRecordComponents();
    Class<?>[] types = new Class<?>[components.length];
    Object[] values = new Object[components.length];
    for (int i = 0; i < components.length; i++) {
      Class<?> t = components[i].getType();
      types[i] = t;
      values[i] = t == String.class ? components[i].getName() + "-value" : t == long.class || t == Long.class ? 42L
          : t == int.class || t == Integer.class ? 7 : t == boolean.class ? true : t == List.class ? List.of() : null;
      assertTrue(values[i] != null, type.getSimpleName() + "." + components[i].getName() + ": add a sample value");
    }
    try {
      return (ThreadEvent) type.getDeclaredConstructor(types).newInstance(values);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  private static byte[] bytes(Object message) {
    return serialization.serialize(message).get();
  }

  private static Object roundTrip(Object message) {
    Serializer serializer = serialization.findSerializerFor(message);
    return serialization.deserialize(serializer.toBinary(message), serializer.identifier(),
        Serializers.manifestFor(serializer, message)).get();
  }
}
