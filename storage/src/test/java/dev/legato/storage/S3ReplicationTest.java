package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.storage.replica.FaultyProxy;
import dev.legato.storage.replica.ReplicaTarget;
import dev.legato.storage.replica.Replication;
import dev.legato.storage.replica.Restorer;
import dev.legato.storage.replica.S3ProxyServer;
import dev.legato.storage.replica.S3Target;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas in S3, through the real protocol (s3proxy in-process) and a fault-injecting proxy in front of it:
 * the stock Litestream restores them; S3 down for a while, then back, loses nothing; 500s and stalls at
 * random neither lose nor tear a transaction.
 */
class S3ReplicationTest {
  static S3ProxyServer s3;
  static FaultyProxy proxy;

  @TempDir Path dataDir;
  @TempDir Path scratch;
  ActorSystem system;
  JournalProbe journal;
  SessionStorage storage;
  String prefix = "node-" + UUID.randomUUID();

  @BeforeAll
  static void startS3() throws Exception {
    s3 = S3ProxyServer.start();
    proxy = new FaultyProxy("127.0.0.1", s3.port());
  }

  @AfterAll
  static void stopS3() {
    if (proxy != null) {
      proxy.close();
    }
    if (s3 != null) {
      s3.close();
    }
  }

  void start(URI endpoint) {
    system = ActorSystem.create("s3-replication", TestConfigs.storage(dataDir, TestConfigs.WITH_PROJECTION
        + "legato.storage.replica { mode = async, sync-interval = 50ms, checkpoint-size = 64KiB,"
        + " min-backoff = 20ms, max-backoff = 300ms, s3 { url = \"" + endpoint + "\", bucket = \"" + s3.bucket()
        + "\", prefix = \"" + prefix + "\", access-key-id = \"" + s3.accessKeyId() + "\", secret-access-key = \""
        + s3.secretAccessKey() + "\", attempt-timeout = 1s, call-timeout = 3s } }\n"));
    journal = new JournalProbe(system);
    storage = SessionStorage.get(system);
  }

  @AfterEach
  void stop() {
    proxy.mode(new FaultyProxy.Pass());
    if (system != null) {
      TestKit.shutdownActorSystem(system, scala.concurrent.duration.Duration.create(60, TimeUnit.SECONDS), true);
    }
  }

  Replication replication() {
    return storage.replication().orElseThrow();
  }

  ReplicaTarget target() {
    return new S3Target(s3.settings(prefix));
  }

  long write(String id, long from, int count) {
    long seq = from;
    for (int i = 0; i < count; i++) {
      List<String> events = new ArrayList<>(List.of("message m" + seq + " t1 user " + "y".repeat(i % 200)));
      if (i % 3 == 0) {
        events.add("memory k" + (i % 5) + " v" + seq);
      }
      assertTrue(JournalProbe.succeeded(journal.write(id, seq, events)), "write at " + seq);
      seq += events.size();
    }
    return seq;
  }

  void assertReplicaEqualsLocal(UUID thread) throws Exception {
    storage.closeThread(thread).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(replication().drain(Duration.ofSeconds(60)), "the replica caught up");
    Path local = dataDir.resolve("sessions").resolve(thread.toString());
    try (ReplicaTarget target = target()) {
      for (String file : List.of("session.db", "memory.db")) {
        Path restored = scratch.resolve(UUID.randomUUID() + "-" + file);
        Restorer.Result result = Restorer.restoreInto(target, "sessions/" + thread + "/" + file, null, null, restored);
        assertTrue(result.complete(), String.valueOf(result.problem()));
        assertEquals(ReplicaDumps.dump(local.resolve(file)), ReplicaDumps.dump(restored), file);
      }
    }
  }

  @Test
  void theStockLitestreamRestoresAThreadFromS3() throws Exception {
    Path litestream = Litestream.binary();
    start(s3.endpoint());
    UUID thread = UUID.randomUUID();
    write(StorageLayout.threadPersistenceId(thread), 1, 200);
    assertReplicaEqualsLocal(thread);
    Path local = dataDir.resolve("sessions").resolve(thread.toString());
    try (ReplicaTarget target = target()) {
      for (String file : List.of("session.db", "memory.db")) {
        Path restored = scratch.resolve("litestream-" + file);
        Litestream.restore(litestream, target.litestreamUrl("sessions/" + thread + "/" + file), restored,
            Map.of("LITESTREAM_ACCESS_KEY_ID", s3.accessKeyId(), "LITESTREAM_SECRET_ACCESS_KEY", s3.secretAccessKey()));
        assertEquals(ReplicaDumps.dump(local.resolve(file)), ReplicaDumps.dump(restored), file);
      }
    }
  }

  @Test
  void s3DownForAWhileThenBackLosesNothingAndTheLagRecovers() throws Exception {
    start(proxy.endpoint());
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    long next = write(id, 1, 30);
    assertTrue(replication().drain(Duration.ofSeconds(30)));

    proxy.mode(new FaultyProxy.Down());
    next = write(id, next, 60); // writes go on locally
    Thread.sleep(1500);
    assertTrue(replication().figures().failures() > 0, "uploads failed while S3 was down");
    assertTrue(replication().status("sessions/" + thread + "/session.db").orElseThrow().lagMillis() >= 1000,
        "the lag grew while S3 was down");
    assertTrue(replication().status("sessions/" + thread + "/session.db").orElseThrow().pendingObjects() > 0);

    proxy.mode(new FaultyProxy.Pass());
    write(id, next, 10);
    assertReplicaEqualsLocal(thread);
    assertEquals(0, replication().status("sessions/" + thread + "/session.db").orElseThrow().lagMillis());
  }

  @Test
  void errorsAndStallsAtRandomNeitherLoseNorTearATransaction() throws Exception {
    start(proxy.endpoint());
    UUID thread = UUID.randomUUID();
    String id = StorageLayout.threadPersistenceId(thread);
    long next = 1;
    for (int round = 0; round < 6; round++) {
      proxy.mode(round % 2 == 0 ? new FaultyProxy.Errors(0.4) : new FaultyProxy.Stall(0.15));
      next = write(id, next, 25);
      Thread.sleep(200);
    }
    proxy.mode(new FaultyProxy.Pass());
    assertReplicaEqualsLocal(thread);
    assertTrue(proxy.errorsInjected() > 0, "errors were injected");
  }
}
