package dev.legato.storage.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.ListObjectsResponse;

/**
 * The S3 replica target against s3proxy (a real S3 server on loopback), directly and through a proxy that
 * injects failures: the same semantics as the folder target, bounded calls, retries that absorb errors.
 */
class S3TargetTest {
  private static S3ProxyServer s3;
  private static int prefixes;

  @BeforeAll
  static void startS3() throws Exception {
    s3 = S3ProxyServer.start();
  }

  @AfterAll
  static void stopS3AndLeaveNoThreadBehind() throws Exception {
    if (s3 != null) {
      s3.close();
    }
    // the S3 server's, the proxies' and the SDK clients' threads all end when they are closed
    long deadline = System.nanoTime() + 5_000_000_000L;
    List<String> left;
    do {
      left = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
          .filter(name -> name.startsWith("S3Proxy-") || name.startsWith("faulty-proxy-")
              || name.startsWith("sdk-ScheduledExecutor"))
          .toList();
      if (!left.isEmpty()) {
        Thread.sleep(50);
      }
    } while (!left.isEmpty() && System.nanoTime() < deadline);
    assertEquals(List.of(), left, "threads left running");
  }

  /** A prefix no other test uses, so tests share the bucket without seeing each other's objects. */
  private static synchronized String freshPrefix(String name) {
    return "t" + (++prefixes) + "/" + name;
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void objectsRoundTripUnderANormalisedPrefixWithFolderSemantics() throws Exception {
    String prefix = freshPrefix("node-1");
    try (S3Target target = new S3Target(s3.settings("/" + prefix.replace("/", "//") + "/"));
        S3Target sibling = new S3Target(s3.settings(prefix + "0"));
        S3Target root = new S3Target(s3.settings(""))) {
      assertEquals(prefix, target.settings().prefix());
      String gen = "sessions/a/session.db/generations/0123456789abcdef/";
      Map<String, String> objects = Map.of(
          gen + "snapshots/00000000.snapshot.lz4", "snapshot",
          gen + "wal/00000000_00000000.wal.lz4", "wal 0",
          gen + "wal/00000000_00004080.wal.lz4", "wal 1 longer",
          "sessions/b/session.db/generations/fedcba9876543210/snapshots/00000000.snapshot.lz4", "b",
          "memory.db/generations/1111111111111111/snapshots/00000000.snapshot.lz4", "memory");
      for (var object : objects.entrySet()) {
        target.put(object.getKey(), bytes(object.getValue()), Instant.EPOCH);
      }
      // a neighbour whose prefix extends ours as a string must stay out of our listings
      sibling.put("sessions/c/x", bytes("not ours"), Instant.EPOCH);

      for (var object : objects.entrySet()) {
        assertArrayEquals(bytes(object.getValue()), target.get(object.getKey()), object.getKey());
      }
      List<ReplicaTarget.Entry> all = target.list("");
      assertEquals(objects.keySet().stream().sorted().toList(), all.stream().map(ReplicaTarget.Entry::key).toList());
      for (ReplicaTarget.Entry entry : all) {
        assertEquals(bytes(objects.get(entry.key())).length, entry.size(), entry.key());
      }
      assertEquals(List.of(gen + "wal/00000000_00000000.wal.lz4", gen + "wal/00000000_00004080.wal.lz4"),
          target.list(gen + "wal/").stream().map(ReplicaTarget.Entry::key).toList());
      assertEquals(List.of(gen + "wal/00000000_00004080.wal.lz4"),
          target.list(gen + "wal/00000000_00004").stream().map(ReplicaTarget.Entry::key).toList());
      assertEquals(List.of(), target.list("nothing/here/"));

      assertEquals(List.of("memory.db", "sessions"), target.children(""));
      assertEquals(List.of("a", "b"), target.children("sessions/"));
      assertEquals(List.of("0123456789abcdef"), target.children("sessions/a/session.db/generations/"));
      assertEquals(List.of("snapshots", "wal"), target.children(gen));
      assertEquals(List.of(), target.children(gen + "wal/"), "objects are no children, only folders are");
      assertEquals(List.of(), target.children("nothing/"));

      // the keys in the bucket are the target's keys under its prefix
      assertTrue(root.list(prefix + "/").stream().map(ReplicaTarget.Entry::key).toList()
          .contains(prefix + "/" + gen + "snapshots/00000000.snapshot.lz4"));

      // a put replaces
      target.put(gen + "wal/00000000_00000000.wal.lz4", bytes("wal 0 again"), Instant.EPOCH);
      assertArrayEquals(bytes("wal 0 again"), target.get(gen + "wal/00000000_00000000.wal.lz4"));

      // delete takes missing keys without complaint and leaves the rest
      target.delete(List.of(gen + "wal/00000000_00000000.wal.lz4", gen + "wal/00000000_00004080.wal.lz4",
          gen + "wal/ffffffff_00000000.wal.lz4"));
      target.delete(List.of());
      assertEquals(List.of("snapshots"), target.children(gen));
      assertEquals(3, target.list("").size());
      assertThrows(NoSuchFileException.class, () -> target.get(gen + "wal/00000000_00000000.wal.lz4"));
      assertEquals(1, sibling.list("").size(), "the neighbour keeps its object");
    }
  }

  @Test
  void aMissingObjectIsNoSuchFile() throws Exception {
    try (S3Target target = new S3Target(s3.settings(freshPrefix("missing")))) {
      NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> target.get("no/such/object"));
      assertTrue(e.getMessage().contains(s3.bucket()) && e.getMessage().contains("no/such/object"), e.getMessage());
    }
  }

  @Test
  void listingPagesThroughMoreThanAThousandObjectsAndDeleteGoesInBatches() throws Exception {
    String prefix = freshPrefix("many");
    int count = 1100;
    List<String> keys = IntStream.range(0, count).mapToObj(i -> String.format("wal/%08x_%08x.wal.lz4", i / 100, i))
        .toList();
    ExecutorService uploads = Executors.newFixedThreadPool(4);
    try (S3Target direct = new S3Target(s3.settings(prefix));
        FaultyProxy proxy = new FaultyProxy("127.0.0.1", s3.port());
        S3Target counted = new S3Target(s3.settings(proxy.endpoint(), prefix))) {
      long started = System.nanoTime();
      List<Future<?>> puts = new ArrayList<>();
      for (String key : keys) {
        puts.add(uploads.submit(() -> {
          direct.put(key, new byte[] {1}, Instant.EPOCH);
          return null;
        }));
      }
      for (Future<?> put : puts) {
        put.get(60, TimeUnit.SECONDS);
      }
      long putMillis = (System.nanoTime() - started) / 1_000_000;

      started = System.nanoTime();
      List<ReplicaTarget.Entry> listed = counted.list("wal/");
      long listMillis = (System.nanoTime() - started) / 1_000_000;
      assertEquals(keys, listed.stream().map(ReplicaTarget.Entry::key).toList());
      assertEquals(2, proxy.forwarded(), "1100 keys are two pages of at most 1000");

      started = System.nanoTime();
      counted.delete(keys);
      long deleteMillis = (System.nanoTime() - started) / 1_000_000;
      assertEquals(4, proxy.forwarded(), "1100 keys are deleted in two requests of at most 1000");
      assertEquals(List.of(), direct.list(""));
      System.out.printf("%d puts (4 threads) %d ms, list %d ms, delete %d ms%n", count, putMillis, listMillis,
          deleteMillis);
      assertTrue(listMillis < 10_000, "listing 1100 objects took " + listMillis + " ms");
    } finally {
      uploads.shutdownNow();
      assertTrue(uploads.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void listedTimesAreWhenTheObjectsWereUploaded() throws Exception {
    try (S3Target target = new S3Target(s3.settings(freshPrefix("times")))) {
      Instant before = Instant.now();
      int count = 20;
      for (int i = 0; i < count; i++) {
        // the time given is not kept: S3 stamps the upload
        target.put("o/" + i, bytes("x"), Instant.parse("2001-01-01T00:00:00Z"));
      }
      Instant after = Instant.now();
      List<ReplicaTarget.Entry> entries = target.list("o/");
      assertEquals(count, entries.size());
      long withMillis = entries.stream().filter(e -> e.time().getNano() != 0).count();
      for (ReplicaTarget.Entry entry : entries) {
        // LastModified may be cut to the second: allow one below the start
        assertFalse(entry.time().isBefore(before.minusSeconds(1)), entry + " before " + before);
        assertFalse(entry.time().isAfter(after.plusSeconds(1)), entry + " after " + after);
      }
      System.out.printf("LastModified: %d of %d listed times have a fraction of a second, e.g. %s%n", withMillis,
          count, entries.get(0).time());
    }
  }

  @Test
  void aStoreThatIsDownFailsAPutWithinTheTimeoutsAndTheNextPutWorksOnceItIsBack() throws Exception {
    String prefix = freshPrefix("down");
    try (FaultyProxy proxy = new FaultyProxy("127.0.0.1", s3.port());
        S3Target target = new S3Target(s3.settings(proxy.endpoint(), prefix)
            .withRetries(3, Duration.ofSeconds(3), Duration.ofSeconds(1)))) {
      target.put("before", bytes("1"), Instant.EPOCH);

      proxy.mode(FaultyProxy.Mode.DOWN);
      long started = System.nanoTime();
      IOException e = assertThrows(IOException.class, () -> target.put("during", bytes("2"), Instant.EPOCH));
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertTrue(millis < 4_000, "a put to a store that is down took " + millis + " ms");
      assertTrue(e.getMessage().contains("PutObject") && e.getMessage().contains(s3.bucket())
          && e.getMessage().contains(prefix + "/during"), e.getMessage());
      // three attempts; a connection the pool kept from the put before may meet the closed door first
      assertTrue(proxy.refused() >= 3 && proxy.refused() <= 4, "each of the three attempts met the closed door: "
          + proxy.refused());
      assertThrows(IOException.class, () -> target.list(""));

      proxy.mode(FaultyProxy.Mode.PASS);
      target.put("after", bytes("3"), Instant.EPOCH);
      assertEquals(List.of("after", "before"), target.list("").stream().map(ReplicaTarget.Entry::key).toList());
      System.out.printf("down: put failed after %d ms: %s%n", millis, e.getMessage());
    }
  }

  @Test
  void aStoreThatNeverAnswersFailsAPutAtTheTimeoutsInsteadOfHangingIt() throws Exception {
    String prefix = freshPrefix("stall");
    try (FaultyProxy proxy = new FaultyProxy("127.0.0.1", s3.port());
        S3Target target = new S3Target(s3.settings(proxy.endpoint(), prefix)
            .withRetries(2, Duration.ofSeconds(3), Duration.ofMillis(800)))) {
      proxy.mode(FaultyProxy.Mode.stall(1.0));
      long started = System.nanoTime();
      IOException e = assertThrows(IOException.class, () -> target.put("stuck", bytes("1"), Instant.EPOCH));
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertTrue(millis >= 700 && millis < 4_000, "a put to a silent store took " + millis + " ms");
      assertEquals(2, proxy.stalled(), "both attempts were swallowed");

      // half the requests swallowed: a retry after the attempt timeout gets through
      proxy.mode(FaultyProxy.Mode.stall(0.5));
      for (int i = 0; i < 4; i++) {
        target.put("slow/" + i, bytes("2"), Instant.EPOCH);
      }
      assertEquals(4, target.list("slow/").size());
      assertTrue(proxy.stalled() >= 4, "stalled " + proxy.stalled());
      System.out.printf("stall: put failed after %d ms: %s%n", millis, e.getMessage());
    }
  }

  @Test
  void errorsOnHalfTheRequestsAreAbsorbedByRetries() throws Exception {
    String prefix = freshPrefix("errors");
    int count = 40;
    try (FaultyProxy proxy = new FaultyProxy("127.0.0.1", s3.port());
        S3Target target = new S3Target(s3.settings(proxy.endpoint(), prefix)
            // attempts time out late: this test is about 500s, and a put that timed out after the store took
            // it is sent again (twice forwarded), which a loaded machine would otherwise turn into a flake
            .withRetries(4, Duration.ofSeconds(60), Duration.ofSeconds(15)));
        S3Target direct = new S3Target(s3.settings(prefix))) {
      proxy.mode(FaultyProxy.Mode.errors(0.5));
      for (int i = 0; i < count; i++) {
        target.put("o/" + i, bytes("body " + i), Instant.EPOCH);
      }
      assertTrue(proxy.errorsInjected() >= count / 2, "errors injected: " + proxy.errorsInjected());
      assertEquals(count, proxy.forwarded(), "every put reached the store once");
      List<ReplicaTarget.Entry> stored = direct.list("o/");
      assertEquals(count, stored.size());
      for (int i = 0; i < count; i++) {
        assertArrayEquals(bytes("body " + i), direct.get("o/" + i));
      }
      // reads and listings are retried alike
      assertEquals(count, target.list("o/").size());
      assertArrayEquals(bytes("body 7"), target.get("o/7"));

      // with every request failing, the error says what failed and how
      proxy.mode(FaultyProxy.Mode.errors(1.0));
      IOException e = assertThrows(IOException.class, () -> target.put("o/last", bytes("x"), Instant.EPOCH));
      assertTrue(e.getMessage().contains("HTTP 500") && e.getMessage().contains("InternalError")
          && e.getMessage().contains(prefix + "/o/last"), e.getMessage());
      System.out.printf("errors: %d injected over %d puts; all failing: %s%n", proxy.errorsInjected(), count,
          e.getMessage());
    }
  }

  @Test
  void theTargetIsReadFromItsConfigBlock() throws Exception {
    String prefix = freshPrefix("config");
    String block = """
        url = "%s"
        bucket = "%s"
        prefix = "/%s/"
        region = "eu-west-1"
        access-key-id = "%s"
        secret-access-key = "%s"
        """.formatted(s3.endpoint(), s3.bucket(), prefix, s3.accessKeyId(), s3.secretAccessKey());
    try (S3Target target = S3Target.fromConfig(ConfigFactory.parseString(block))) {
      assertEquals(s3.endpoint(), target.settings().endpoint());
      assertEquals(prefix, target.settings().prefix());
      assertEquals("eu-west-1", target.settings().region());
      assertTrue(target.settings().pathStyle());
      assertEquals("s3://" + s3.bucket() + "/" + prefix + " at " + s3.endpoint(), target.describe());
      target.put("k", bytes("v"), Instant.EPOCH);
      assertArrayEquals(bytes("v"), target.get("k"));
    }

    // AWS itself: no endpoint, default credentials (not used here: nothing is sent)
    try (S3Target aws = S3Target.fromConfig(ConfigFactory.parseString("bucket = b, prefix = \"\", url = null"))) {
      assertNull(aws.settings().endpoint());
      assertFalse(aws.settings().pathStyle());
      assertEquals("us-east-1", aws.settings().region());
      assertNull(aws.settings().accessKeyId());
      assertEquals("s3://b", aws.describe());
      assertEquals("s3://b/sessions/x/session.db", aws.litestreamUrl("sessions/x/session.db"));
    }

    IllegalArgumentException noBucket = assertThrows(IllegalArgumentException.class,
        () -> S3Target.fromConfig(ConfigFactory.parseString("url = \"http://127.0.0.1:9\"")));
    assertTrue(noBucket.getMessage().contains("bucket"), noBucket.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> S3Target.fromConfig(ConfigFactory.parseString("bucket = b, access-key-id = k")));
  }

  @Test
  void litestreamUrlsUseTheOnlyLocalFormLitestreamTakes() {
    try (S3Target local = new S3Target(S3Target.Settings.of(URI.create("http://127.0.0.1:9000"), "bk")
            .withPrefix("backups/").withCredentials("k", "s"));
        S3Target remote = new S3Target(S3Target.Settings.of(URI.create("https://s3.eu-west-1.amazonaws.com"), "bk")
            .withRegion("eu-west-1").withCredentials("k", "s"))) {
      assertEquals("s3://bk.localhost:9000/backups/sessions/x/session.db", local.litestreamUrl("sessions/x/session.db"));
      assertEquals("s3://bk.localhost:9000/backups", local.litestreamUrl(""));
      assertEquals("s3://bk/sessions/x/session.db", remote.litestreamUrl("/sessions/x/session.db/"));
      assertEquals("s3://bk at https://s3.eu-west-1.amazonaws.com", remote.describe());
    }
  }

  /**
   * Litestream v0.3.13 lists with ListObjects v1, a delimiter and markers; the stand-in S3 must page that way
   * too, or a test with the real binary would pass or fail for the wrong reason.
   */
  @Test
  void theTestStoreAnswersListObjectsV1WithDelimiterAndMarkersAsLitestreamAsks() throws Exception {
    String prefix = freshPrefix("v1");
    List<String> generations = List.of("0000000000000001", "0000000000000002", "0000000000000003",
        "0000000000000004", "0000000000000005");
    try (S3Target target = new S3Target(s3.settings(prefix));
        S3Client client = S3Client.builder().endpointOverride(s3.endpoint()).forcePathStyle(true)
            .region(Region.US_EAST_1).httpClient(UrlConnectionHttpClient.create())
            .credentialsProvider(StaticCredentialsProvider.create(
                AwsBasicCredentials.create(s3.accessKeyId(), s3.secretAccessKey())))
            .build()) {
      for (String generation : generations) {
        target.put("db/generations/" + generation + "/snapshots/00000000.snapshot.lz4", bytes("s"), Instant.EPOCH);
        target.put("db/generations/" + generation + "/wal/00000000_00000000.wal.lz4", bytes("w"), Instant.EPOCH);
      }
      List<String> seen = new ArrayList<>();
      String marker = null;
      int pages = 0;
      do {
        String from = marker;
        ListObjectsResponse page = client.listObjects(b -> b.bucket(s3.bucket()).prefix(prefix + "/db/generations/")
            .delimiter("/").maxKeys(2).marker(from));
        pages++;
        assertTrue(page.contents().isEmpty(), "only folders directly under generations/");
        page.commonPrefixes().stream().map(CommonPrefix::prefix).forEach(seen::add);
        marker = page.isTruncated() ? page.nextMarker() : null;
        assertTrue(!page.isTruncated() || marker != null, "a truncated v1 page with a delimiter names its NextMarker");
      } while (marker != null && pages < 10);
      assertEquals(generations.stream().map(g -> prefix + "/db/generations/" + g + "/").toList(), seen);
      assertEquals(3, pages);
    }
  }

  /** The stock binary reads what the target wrote, through the URL the target gives. */
  @Test
  void theStockLitestreamListsAGenerationWrittenThroughTheTarget() throws Exception {
    Path binary = dev.legato.storage.Litestream.binary();
    String prefix = freshPrefix("litestream");
    String generation = "0123456789abcdef";
    try (S3Target target = new S3Target(s3.settings(prefix))) {
      target.put("db/generations/" + generation + "/snapshots/00000000.snapshot.lz4", bytes("snapshot"), Instant.EPOCH);
      target.put("db/generations/" + generation + "/wal/00000000_00000000.wal.lz4", bytes("wal"), Instant.EPOCH);
      ProcessBuilder command = new ProcessBuilder(binary.toString(), "generations", target.litestreamUrl("db"))
          .redirectErrorStream(true);
      command.environment().put("LITESTREAM_ACCESS_KEY_ID", s3.accessKeyId());
      command.environment().put("LITESTREAM_SECRET_ACCESS_KEY", s3.secretAccessKey());
      Process process = command.start();
      try {
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "litestream generations did not finish");
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        // the listing exits 0 even when it fails: look for the row
        assertTrue(output.lines().anyMatch(line -> line.startsWith("s3") && line.contains(generation)), output);
      } finally {
        process.destroyForcibly();
      }
    }
  }
}
