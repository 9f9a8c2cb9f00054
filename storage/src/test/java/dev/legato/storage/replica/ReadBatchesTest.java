package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Files restored at once (the threads of a node that left or died) read each batch of another writer's log once. */
class ReadBatchesTest {
  private static NodeLog.Entry entry(String root, int index) {
    return new NodeLog.Entry(root, "gen", index, 0, Instant.EPOCH, new byte[] {1}, 0, null);
  }

  @Test
  void filesRestoredTogetherReadABatchOnceAndEachGetsItsOwnSegments() throws Exception {
    PeerLogs.ReadBatches batches = new PeerLogs.ReadBatches();
    AtomicInteger reads = new AtomicInteger();
    CountDownLatch slow = new CountDownLatch(1);
    PeerLogs.IoSupplier<List<NodeLog.Entry>> read = () -> {
      reads.incrementAndGet();
      try {
        slow.await(10, TimeUnit.SECONDS); // a GET that takes a while: every restore asks meanwhile
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
      return List.of(entry("a", 1), entry("b", 1), entry("b", 2));
    };
    ExecutorService restores = Executors.newFixedThreadPool(8);
    try {
      List<CompletableFuture<Integer>> found = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        String root = i % 2 == 0 ? "a" : "b";
        found.add(CompletableFuture.supplyAsync(() -> {
          try {
            return batches.entries("log/w1/0001", root, read).size();
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }, restores));
      }
      Thread.sleep(200);
      slow.countDown();
      for (int i = 0; i < 8; i++) {
        assertEquals(i % 2 == 0 ? 1 : 2, found.get(i).get(10, TimeUnit.SECONDS));
      }
      assertEquals(1, reads.get(), "one GET for eight restores");
    } finally {
      restores.shutdownNow();
    }
  }

  @Test
  void aFailedReadIsNotRememberedAndTheNextReaderTriesAgain() throws Exception {
    PeerLogs.ReadBatches batches = new PeerLogs.ReadBatches();
    assertThrows(IOException.class, () -> batches.entries("log/w1/0002", "a", () -> {
      throw new IOException("unreachable");
    }));
    assertEquals(1, batches.entries("log/w1/0002", "a", () -> List.of(entry("a", 3))).size());
  }

  @Test
  void aLogsBatchesAreReadSideBySideAndOnlyOnce() throws Exception {
    ExecutorService readers = Executors.newFixedThreadPool(4);
    try {
      PeerLogs.ReadBatches batches = new PeerLogs.ReadBatches(readers);
      List<String> keys = List.of("log/w1/0001", "log/w1/0002", "log/w1/0003", "log/w1/0004");
      CountDownLatch allReading = new CountDownLatch(keys.size());
      AtomicInteger reads = new AtomicInteger();
      PeerLogs.IoFunction<String, List<NodeLog.Entry>> read = key -> {
        reads.incrementAndGet();
        allReading.countDown();
        try {
          // each read waits for all the others to have begun: read one after another, they never would
          if (!allReading.await(10, TimeUnit.SECONDS)) {
            throw new IOException("the batches were not read side by side");
          }
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
        return List.of(entry("a", Integer.parseInt(key.substring(key.length() - 1))));
      };
      batches.prefetch(keys, read);
      batches.prefetch(keys, read); // a second restore of the same writer's files reads nothing again
      for (String key : keys) {
        List<NodeLog.Entry> found = batches.entries(key, "a", () -> {
          throw new IOException("read again on the caller's thread");
        });
        assertEquals(Integer.parseInt(key.substring(key.length() - 1)), found.get(0).index());
      }
      assertEquals(keys.size(), reads.get());
    } finally {
      readers.shutdownNow();
    }
  }
}
