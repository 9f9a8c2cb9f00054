package dev.legato.podium;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * What an operator reads of Podium trouble: one line when it begins, one when it ends, none per attempt or
 * per refused call.
 */
class PodiumTroubleLogTest {
  ActorTestKit testKit;
  PodiumEmulator emulator;
  final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  final Logger podiumLogs = (Logger) LoggerFactory.getLogger("dev.legato.podium");
  Level before;

  @BeforeEach
  void start() {
    before = podiumLogs.getLevel();
    podiumLogs.setLevel(Level.INFO);
    logged.start();
    podiumLogs.addAppender(logged);
    testKit = ActorTestKit.create();
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
  }

  @AfterEach
  void stop() {
    emulator.stop();
    testKit.shutdownTestKit();
    podiumLogs.detachAppender(logged);
    podiumLogs.setLevel(before);
  }

  List<String> lines(String instanceId) {
    return logged.list.stream()
        .filter(e -> !e.getLoggerName().startsWith("dev.legato.podium.emulator"))
        .filter(e -> e.getFormattedMessage().contains(instanceId))
        .peek(e -> assertNull(e.getThrowableProxy(), "no stack trace: " + e.getFormattedMessage()))
        .map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
  }

  @Test
  void aDroppedSocketLogsOneWarningAndOneLineWhenItIsBack() throws Exception {
    PodiumClient client = new PodiumClient(testKit.system(), PodiumClientTest.settings(emulator.baseUrl(), null));
    String instanceId = PodiumClientTest.await(client.createInstance(
        PodiumClientTest.await(client.resolveDeployment("echo")), Map.of(), Map.of())).instanceId();
    TestProbe<Collector.Seen> seen = testKit.createTestProbe();
    ActorRef<PodiumLink.Output> owner = testKit.spawn(Collector.create(seen.getRef()));
    testKit.spawn(PodiumLink.create(client, client.settings(), new NativeCodec(), instanceId, owner));
    awaitState(seen, PodiumLink.LinkState.Connected.class);

    emulator.faults().dropSocket(instanceId);
    awaitState(seen, PodiumLink.LinkState.Dropped.class);
    awaitState(seen, PodiumLink.LinkState.Reconnecting.class);
    awaitState(seen, PodiumLink.LinkState.Connected.class);
    List<String> lines = lines(instanceId);
    assertEquals(2, lines.size(), lines.toString());
    assertEquals(true, lines.get(0).startsWith("WARN link to " + instanceId + " lost"), lines.toString());
    assertEquals("INFO link to " + instanceId + " reconnected after 1 attempts", lines.get(1));

    emulator.faults().killInstance(instanceId);
    awaitState(seen, PodiumLink.LinkState.Dropped.class);
    awaitState(seen, PodiumLink.LinkState.InstanceGone.class);
    lines = lines(instanceId);
    assertEquals(true, lines.get(lines.size() - 1).startsWith("WARN link to " + instanceId + " ended: "),
        lines.toString());
  }

  @Test
  void anOpenCircuitBreakerLogsOnceAndItsClosingOnce() throws Exception {
    PodiumSettings tight = PodiumSettings.from(com.typesafe.config.ConfigFactory.parseString(
            "legato.podium { circuit-breaker { max-failures = 2, reset-timeout = 1s }, retry.attempts = 1 }")
        .withFallback(com.typesafe.config.ConfigFactory.load())).withUrl(emulator.baseUrl());
    PodiumClient client = new PodiumClient(testKit.system(), tight);
    emulator.faults().failRestCalls(1.0);
    for (int i = 0; i < 5; i++) { // two failures open it; the three calls after fail fast
      PodiumClientTest.failure(client.instance("inst_a"));
    }
    emulator.faults().reset();
    Thread.sleep(1500); // past reset-timeout: the next call tries Podium again
    String instanceId = PodiumClientTest.await(client.createInstance(
        PodiumClientTest.await(client.resolveDeployment("echo")), Map.of(), Map.of())).instanceId();
    // the breaker tells of its closing on its own executor, maybe just after the call's answer: wait for it
    long deadline = System.nanoTime() + 5_000_000_000L;
    List<String> lines = breakerLines();
    while (lines.size() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(20);
      lines = breakerLines();
    }
    Thread.sleep(200); // and nothing more after it
    lines = breakerLines();
    assertEquals(2, lines.size(), lines.toString());
    assertEquals(true, lines.get(0).startsWith("WARN Podium at " + emulator.baseUrl() + " failed 2 times in a row"),
        lines.toString());
    assertEquals("INFO Podium at " + emulator.baseUrl() + " answers again (circuit breaker closed)", lines.get(1));
    assertEquals(true, instanceId.startsWith("inst_"));
  }

  private List<String> breakerLines() {
    return List.copyOf(logged.list).stream()
        .filter(e -> e.getLoggerName().equals(PodiumClient.class.getName()))
        .peek(e -> assertNull(e.getThrowableProxy(), "no stack trace: " + e.getFormattedMessage()))
        .map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
  }

  private static void awaitState(TestProbe<Collector.Seen> seen, Class<? extends PodiumLink.LinkState> type) {
    while (true) {
      Collector.Seen next = seen.receiveMessage(Duration.ofSeconds(15));
      if (next instanceof Collector.Seen.State state) {
        assertInstanceOf(type, state.state());
        return;
      }
    }
  }
}
