package dev.legato.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.legato.gateway.protocol.JsonRpc;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A full disk: a request whose write fails is answered at once with a storage error (not a timeout), what was
 * acknowledged before stays, and the thread works again once there is space. The data directory is a small
 * tmpfs of its own (mounting needs root; elsewhere the test is skipped and says why).
 */
class GatewayDiskFullTest {
  static Path mount;
  static boolean mounted;

  @BeforeAll
  static void mountSmallDisk() throws Exception {
    mount = Files.createTempDirectory("legato-full-disk");
    Process process = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount.toString())
        .redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    mounted = process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
    assumeTrue(mounted, "cannot mount a small tmpfs here (needs root): " + output.strip());
  }

  @AfterAll
  static void unmount() throws Exception {
    if (mounted) {
      new ProcessBuilder("umount", "-l", mount.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** Fills the disk to the last byte. */
  static Path fill(Path dir) throws IOException {
    Path filler = dir.resolve("filler");
    byte[] block = new byte[64 * 1024];
    try (OutputStream out = Files.newOutputStream(filler)) {
      while (true) {
        out.write(block);
      }
    } catch (IOException full) {
      // no space left: that was the point
    }
    return filler;
  }

  @Test
  void aWriteOnAFullDiskIsRefusedAtOnceAndTheThreadWorksAgainOnceThereIsSpace() throws Exception {
    Path data = Files.createDirectories(mount.resolve("data"));
    try (LegatoUnderTest legato = LegatoUnderTest.start(Map.of("legato.storage.data-dir", data.toString()));
         CodexClient client = legato.client()) {
      String threadId = client.startThread("echo");
      client.startTurn(threadId, "before the disk filled up");
      client.untilTurnCompleted();

      Path filler = fill(mount);
      long asked = System.nanoTime();
      JsonNode refused = client.call("turn/start", CodexClient.turn(threadId, "no room for this"));
      long tookMs = (System.nanoTime() - asked) / 1_000_000;
      assertEquals(JsonRpc.STORAGE_FAILED, refused.path("error").path("code").asInt(), refused.toString());
      assertTrue(refused.path("error").path("message").asText().contains("disk full"), refused.toString());
      assertTrue(tookMs < 10_000, "answered at once, not after the ask timeout: " + tookMs + " ms");

      // A start writes little: SQLite may still fit it in pages its files already hold. Either it is durable
      // and answered, or refused at once with the same storage error, never a timeout.
      asked = System.nanoTime();
      JsonNode start = client.call("thread/start", JsonNodeFactory.instance.objectNode().put("model", "echo"));
      tookMs = (System.nanoTime() - asked) / 1_000_000;
      assertTrue(!start.has("error") || start.path("error").path("code").asInt() == JsonRpc.STORAGE_FAILED,
          start.toString());
      assertTrue(tookMs < 10_000, "answered at once: " + tookMs + " ms");

      Files.delete(filler);
      client.startTurn(threadId, "after the space came back");
      List<JsonNode> turn = client.untilTurnCompleted();
      assertEquals("completed", turn.get(turn.size() - 1).path("params").path("turn").path("status").asText());
      JsonNode read = client.result("thread/read", JsonNodeFactory.instance.objectNode()
          .put("threadId", threadId).put("includeTurns", true));
      JsonNode turns = read.path("thread").path("turns");
      assertTrue(turns.toString().contains("before the disk filled up"), "what was acknowledged stays: " + turns);
      assertTrue(turns.toString().contains("after the space came back"), turns.toString());
      assertTrue(!turns.toString().contains("no room for this"), "the refused turn changed nothing: " + turns);
    }
  }
}
