package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.legato.storage.replica.FileTarget;
import dev.legato.storage.replica.ForwardingTarget;
import dev.legato.storage.replica.Replication;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A file is checked against its replica (and restored from it) before it first opens: network work, done off the
 * storage's writer threads, so that many threads moving to a node at once (a node leaving, a crash) neither queue
 * behind each other's restores nor hold up the commits of the threads already there.
 */
class ReplicaChecksTest {
  @TempDir Path dataDir;
  @TempDir Path replicaDir;
  ActorSystem system;
  ExecutorService writer;
  Replication replication;

  @AfterEach
  void stop() {
    if (replication != null) {
      replication.close();
    }
    if (writer != null) {
      writer.shutdownNow();
    }
    TestKit.shutdownActorSystem(system);
  }

  /** A folder replica whose listings under {@code slowRoot} wait for {@code release}. */
  private static final class SlowTarget extends ForwardingTarget {
    final String slowRoot;
    final CountDownLatch asked = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    SlowTarget(Path root, String slowRoot) {
      super(new FileTarget(root));
      this.slowRoot = slowRoot;
    }

    private void maybeWait(String prefix) throws IOException {
      if (prefix.startsWith(slowRoot)) {
        asked.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        }
      }
    }

    @Override
    public List<Entry> list(String prefix) throws IOException {
      maybeWait(prefix);
      return super.list(prefix);
    }

    @Override
    public List<String> children(String prefix) throws IOException {
      maybeWait(prefix);
      return super.children(prefix);
    }
  }

  private static List<AtomicWrite> event(String persistenceId, String text) {
    PersistentRepr repr = PersistentRepr.apply("message m1 t1 user " + text, 1, persistenceId, "", false, null, "w");
    return List.of(new AtomicWrite(CollectionConverters.asScala(List.of(repr)).toList()));
  }

  @Test
  void aFileWaitingForItsReplicaDoesNotHoldUpTheOthersOnTheOnlyWriterThread() throws Exception {
    system = ActorSystem.create("replica-checks", TestConfigs.storage(dataDir, ""));
    UUID slow = UUID.randomUUID();
    UUID other = UUID.randomUUID();
    SlowTarget target = new SlowTarget(replicaDir, "sessions/" + slow);
    replication = new Replication(new Replication.Settings(Replication.Mode.ASYNC, Duration.ofMillis(50), 4 << 20, 2,
        Duration.ofMillis(10), Duration.ofMillis(100), 64 << 20, Duration.ofDays(1), Duration.ofSeconds(2),
        Duration.ofHours(1), Duration.ofSeconds(1), 1 << 20, 0), target);
    writer = Executors.newSingleThreadExecutor();
    StorageSettings settings = StorageSettings.from(ConfigFactory.parseString("writer-threads = 1")
        .withFallback(system.settings().config().getConfig("legato.storage")));
    Databases databases = new Databases(settings, new EventCodec(SerializationExtension.get(system)), writer, Map.of(),
        replication);

    String slowId = StorageLayout.threadPersistenceId(slow);
    String otherId = StorageLayout.threadPersistenceId(other);
    CompletableFuture<List<Optional<Exception>>> waiting = databases.write(slowId, event(slowId, "held"));
    assertTrue(target.asked.await(10, TimeUnit.SECONDS), "its replica is being checked");
    assertEquals(List.of(Optional.empty()), databases.write(otherId, event(otherId, "not held")).get(10, TimeUnit.SECONDS),
        "another file's write goes through meanwhile, on the same single writer thread");
    assertFalse(waiting.isDone(), "the first file's write waits for its replica's answer");
    target.release.countDown();
    assertEquals(List.of(Optional.empty()), waiting.get(10, TimeUnit.SECONDS));
  }
}
