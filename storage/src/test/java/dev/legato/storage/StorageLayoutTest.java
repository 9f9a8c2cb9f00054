package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

  @Test
  void removingAFolderToleratesFilesThatVanishDuringTheWalk(@TempDir Path temp) throws Exception {
    // As when SQLite, closing databases on writer threads, removes their -wal and -shm files meanwhile.
    for (int round = 0; round < 10; round++) {
      Path root = temp.resolve("data-" + round);
      List<Path> files = new ArrayList<>();
      for (int d = 0; d < 20; d++) {
        Path folder = Files.createDirectories(root.resolve("entities").resolve("writer-" + d));
        for (int f = 0; f < 50; f++) {
          files.add(Files.createFile(folder.resolve("journal-" + f + ".db-wal")));
        }
      }
      Collections.shuffle(files);
      CountDownLatch go = new CountDownLatch(1);
      CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> {
        try {
          go.await();
          for (Path file : files) {
            Files.deleteIfExists(file);
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      go.countDown();
      StorageLayout.deleteTree(root);
      closing.get(30, TimeUnit.SECONDS);
      assertFalse(Files.exists(root), "round " + round);
    }
  }
}
