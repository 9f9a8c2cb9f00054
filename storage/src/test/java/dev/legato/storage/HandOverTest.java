package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.storage.replica.FileTarget;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A thread's files moving between nodes that both keep running, as in a cluster: one node hands a thread over
 * (its shard moves), another that has been up for a while takes it, and later it comes back. Whatever the first
 * node wrote is what the next one starts from: handed over, every write; left behind by a node that stopped
 * answering, every acknowledged write (sync mode), although it is in that node's log only; and a copy left on
 * the first node is never reopened as it was once another node has written the thread since.
 */
class HandOverTest {
  @TempDir Path replicas;
  @TempDir Path firstData;
  @TempDir Path secondData;
  private final List<ActorSystem> systems = new ArrayList<>();

  /** A node whose segments reach the files' layouts only when a file closes or hands over: never by time. */
  private Node node(String name, Path data, String mode) {
    ActorSystem system = ActorSystem.create(name, TestConfigs.storage(data, TestConfigs.WITH_PROJECTION
        + "legato.storage.replica { mode = " + mode + ", sync-interval = 200ms, flush-interval = 1h, folder = \""
        + replicas + "\" }\n"));
    systems.add(system);
    Node node = new Node(system, new JournalProbe(system), SessionStorage.get(system));
    // a node that has been up a while: it opened a file already (and so folded the other nodes' logs then)
    node.journal.writeOne(StorageLayout.threadPersistenceId(UUID.randomUUID()), 1, "message warm t1 user up");
    return node;
  }

  private record Node(ActorSystem system, JournalProbe journal, SessionStorage storage) {
    long write(String id, long from, int count, String tag) {
      for (int i = 0; i < count; i++) {
        assertTrue(JournalProbe.succeeded(journal.writeOne(id, from + i, "message m" + tag + i + " t1 user " + tag)),
            "write " + (from + i));
      }
      return from + count;
    }

    void handOff(String id) throws Exception {
      storage.handOff(id, Duration.ofSeconds(20)).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @AfterEach
  void stop() {
    for (ActorSystem system : systems) {
      TestKit.shutdownActorSystem(system, scala.concurrent.duration.Duration.create(60, TimeUnit.SECONDS), true);
    }
  }

  @Test
  void aThreadHandedOverHoldsEveryWriteOnTheNodeThatTakesItEvenInAsyncMode() throws Exception {
    Node first = node("first", firstData, "async");
    Node second = node("second", secondData, "async");
    String id = StorageLayout.threadPersistenceId(UUID.randomUUID());
    long next = first.write(id, 1, 30, "a");
    first.handOff(id); // no waiting for the sync interval: the hand-off ships what the last commits wrote
    assertEquals(next - 1, second.journal.highestSequenceNr(id));
    assertEquals(next - 1, second.journal.replay(id).size());
  }

  @Test
  void everyWriteAcknowledgedByANodeThatStoppedAnsweringIsOnTheNodeThatTakesOverInSyncMode() throws Exception {
    Node second = node("second", secondData, "sync"); // up first: its start-up fold of the logs is long past
    Node first = node("first", firstData, "sync");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    long next = first.write(id, 1, 12, "a");
    // the first node says nothing more (it is paused, cut off, or gone): its last segments are in its log only
    assertTrue(new FileTarget(replicas).list("sessions/" + thread + "/").stream().noneMatch(o -> o.key().contains("/wal/")),
        "acknowledged writes are in the first node's log, not in the file's layout");
    assertEquals(next - 1, second.journal.highestSequenceNr(id), "the new owner folds them in before it restores");
    assertEquals(next - 1, second.journal.replay(id).size());
  }

  @Test
  void aNodeThatWritesAgainAfterHandingOverWholeBeginsAGenerationTheMarkDoesNotCover() throws Exception {
    Node second = node("second", secondData, "sync"); // up first: its start-up fold of the logs is long past
    Node first = node("first", firstData, "sync");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    long next = first.write(id, 1, 5, "a");
    first.handOff(id); // marked whole: a restore of that generation reads no log
    next = first.write(id, next, 5, "b"); // nobody took it: the first node goes on, in a new generation
    // those last writes are in the first node's log only; the second node must fold them in, mark or not
    assertEquals(next - 1, second.journal.highestSequenceNr(id));
    assertEquals(10, second.journal.replay(id).size());
  }

  @Test
  void aCopyRestoredByAReadWhileTheThreadLivesElsewhereIsNotTakenForItsNewestState() throws Exception {
    Node second = node("second", secondData, "sync"); // up first: its start-up fold of the logs is long past
    Node first = node("first", firstData, "sync");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    long next = first.write(id, 1, 5, "a");
    // a read on the second node restores a copy of the first node's generation there (a start-up sweep did)
    assertEquals(5, second.storage.readThread(thread, ThreadDatabase::messages).toCompletableFuture()
        .get(30, TimeUnit.SECONDS).size());
    second.storage.closeThread(thread).toCompletableFuture().get(30, TimeUnit.SECONDS);
    next = first.write(id, next, 5, "b"); // the first node goes on in that same generation
    first.handOff(id);
    assertEquals(next - 1, second.journal.highestSequenceNr(id), "the copy is restored again, not trusted");
    assertEquals(10, second.journal.replay(id).size());
  }

  @Test
  void aThreadThatComesBackIsRestoredFromTheReplicaNotReopenedFromTheCopyLeftBehind() throws Exception {
    Node first = node("first", firstData, "async");
    Node second = node("second", secondData, "async");
    String id = StorageLayout.threadPersistenceId(UUID.randomUUID());
    long next = first.write(id, 1, 10, "a");
    first.handOff(id); // its copy stays on the first node's disk
    next = second.write(id, next, 10, "b");
    second.handOff(id);

    assertEquals(next - 1, first.journal.highestSequenceNr(id), "back on the first node: the second node's writes are there");
    next = first.write(id, next, 5, "c");
    first.handOff(id);
    assertEquals(next - 1, second.journal.highestSequenceNr(id), "and what it wrote since reaches the second one again");
    assertEquals(25, second.journal.replay(id).size());
  }

  @Test
  void aSparesEmptyFilesLeftHereAreNotReopenedOnceItsThreadWasMadeAndUsedElsewhere() throws Exception {
    Node first = node("first", firstData, "sync");
    Node second = node("second", secondData, "sync");
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    // prepared ahead of a start here, then moved away unused: its files stay, never replicated (no mark)
    first.storage.prepareThread(thread).toCompletableFuture().get(30, TimeUnit.SECONDS);
    first.storage.closeThread(thread).toCompletableFuture().get(30, TimeUnit.SECONDS);
    long next = second.write(id, 1, 10, "a"); // made and used on the second node
    second.handOff(id);
    assertEquals(next - 1, first.journal.highestSequenceNr(id), "back on the first node: restored, not the empty copy");
    assertEquals(10, first.journal.replay(id).size());
  }
}
