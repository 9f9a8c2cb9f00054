package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class StorageLayoutTest {
  final Path data = Path.of("some", "data").toAbsolutePath();
  final StorageLayout layout = new StorageLayout(data);

  @Test
  void threadIdsMapToTheirSessionFolder() {
    UUID id = UUID.randomUUID();
    StorageLayout.Location location = layout.locate("Thread|" + id);
    assertEquals(data.resolve("sessions").resolve(id.toString()).resolve("session.db"), location.database());
    assertEquals(data.resolve("sessions").resolve(id.toString()).resolve("memory.db"), location.memoryDatabase());
    assertEquals("Thread", location.type());
  }

  @ParameterizedTest
  @ValueSource(strings = {"Thread|../../etc/passwd", "Thread|", "Thread|not-a-uuid",
      "Thread|6F9619FF-8B86-D011-B42D-00C04FC964FF", "Thread|6f9619ff-8b86-d011-b42d-00c04fc964ff/x", ""})
  void malformedThreadIdsAndEmptyIdsAreRefused(String id) {
    InvalidPersistenceIdException e = assertThrows(InvalidPersistenceIdException.class, () -> layout.locate(id));
    assertTrue(e.getMessage().contains("persistenceId"), e.getMessage());
  }

  @Test
  void controlCharactersAndOverlongIdsAreRefused() {
    assertThrows(InvalidPersistenceIdException.class, () -> layout.locate("a\u0000b"));
    assertThrows(InvalidPersistenceIdException.class, () -> layout.locate("line\nbreak"));
    assertThrows(InvalidPersistenceIdException.class, () -> layout.locate("x".repeat(513)));
    assertThrows(InvalidPersistenceIdException.class, () -> layout.locate("lonely \ud800 surrogate"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"../../../elsewhere/evil", "/etc/passwd", "C:\\Windows", "Registry|tenant/../../x", "..", ".",
      "spaces and ünïcödé ✓", "Registry|tenant-1"})
  void otherIdsStayInsideTheDataDirectory(String id) {
    StorageLayout.Location location = layout.locate(id);
    Path entities = data.resolve("entities");
    assertEquals(entities, location.directory().getParent());
    assertTrue(location.database().normalize().startsWith(entities), location.database().toString());
    assertTrue(location.directory().getFileName().toString().matches("[A-Za-z0-9_-]+-[0-9a-f]{32}"),
        location.directory().toString());
  }

  @Test
  void idsThatLookAlikeGetDifferentFolders() {
    assertNotEquals(layout.locate("a/b").directory(), layout.locate("a_b").directory());
    assertNotEquals(layout.locate("A").directory(), layout.locate("a").directory());
    assertEquals(layout.locate("Registry|t1").directory(), layout.locate("Registry|t1").directory());
  }
}
