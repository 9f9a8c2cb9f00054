package dev.legato.podium;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The REST client against the emulator over real loopback sockets. */
class PodiumClientTest {
  static ActorTestKit testKit;
  PodiumEmulator emulator;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @AfterEach
  void stopEmulator() {
    if (emulator != null) {
      emulator.stop();
    }
  }

  static PodiumSettings settings(String url, String apiKey) {
    return PodiumSettings.from(ConfigFactory.parseString("""
            legato.podium {
              request-timeout = 1s
              retry { attempts = 3, min-backoff = 20ms, max-backoff = 100ms }
              circuit-breaker { max-failures = 50, reset-timeout = 1s }
              link.reconnect { min-backoff = 20ms, max-backoff = 200ms, max-attempts = 5 }
            }
            """).withFallback(ConfigFactory.load()))
        .withUrl(url).withApiKey(apiKey);
  }

  PodiumClient client() {
    return new PodiumClient(testKit.system(), settings(emulator.baseUrl(), null));
  }

  static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static Throwable failure(CompletionStage<?> stage) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> stage.toCompletableFuture().get(10, TimeUnit.SECONDS));
    return PodiumClient.unwrap(e);
  }

  @Test
  void resolvesAnAgentTypeToItsHighestSemanticVersion() throws Exception {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    String id = await(client().resolveDeployment("echo"));
    assertTrue(id.startsWith("echo:1.10.0@"), id);
    assertTrue(id.matches("echo:1\\.10\\.0@[0-9a-f]{8}"), id);
    assertInstanceOf(PodiumException.DeploymentNotFound.class, failure(client().resolveDeployment("no-such-agent")));
  }

  @Test
  void createsReadsAndDeletesAnInstance() throws Exception {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    PodiumClient client = client();
    String deployment = await(client.resolveDeployment("echo"));
    PodiumClient.Instance created = await(client.createInstance(deployment, Map.of("cwd", "/work"), Map.of()));
    assertTrue(created.instanceId().startsWith("inst_"), created.instanceId());
    PodiumClient.Instance read = await(client.instance(created.instanceId()));
    assertEquals(deployment, read.deploymentId());
    assertTrue(read.status().live(), read.status().toString());
    assertTrue(read.configJson().contains("/work"), read.configJson());

    await(client.deleteInstance(created.instanceId()));
    await(client.deleteInstance(created.instanceId())); // already gone counts as deleted
    assertInstanceOf(PodiumException.InstanceNotFound.class, failure(client.instance(created.instanceId())));
    assertInstanceOf(PodiumException.DeploymentNotFound.class,
        failure(client.createInstance("echo:9.9.9@00000000", Map.of(), Map.of())));
  }

  @Test
  void aMissingOrWrongKeyIsUnauthorized() throws Exception {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults().withTenantKeys(Set.of("pod_right")));
    PodiumClient anonymous = new PodiumClient(testKit.system(), settings(emulator.baseUrl(), null));
    assertInstanceOf(PodiumException.Unauthorized.class, failure(anonymous.instance("inst_x")));
    PodiumClient wrong = new PodiumClient(testKit.system(), settings(emulator.baseUrl(), "pod_wrong"));
    assertInstanceOf(PodiumException.Unauthorized.class, failure(wrong.resolveDeployment("echo")));
    PodiumClient right = new PodiumClient(testKit.system(), settings(emulator.baseUrl(), "pod_right"));
    assertTrue(await(right.resolveDeployment("echo")).startsWith("echo:"));
  }

  @Test
  void serverErrorsAreRetriedThenReportedAsUnavailable() throws Exception {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    PodiumClient client = client();
    String instanceId = await(client.createInstance(await(client.resolveDeployment("echo")), Map.of(), Map.of())).instanceId();

    emulator.faults().failRestCalls(1.0);
    Throwable unavailable = failure(client.instance(instanceId));
    assertInstanceOf(PodiumException.Unavailable.class, unavailable);
    assertTrue(unavailable.getMessage().contains("503"), unavailable.getMessage());

    // Half of the calls fail: three attempts almost always get through (1 - 0.5^3 = 87.5% per call, so
    // some of twenty calls need a retry and nearly all succeed).
    emulator.faults().failRestCalls(0.5);
    int succeeded = 0;
    for (int i = 0; i < 20; i++) {
      try {
        await(client.instance(instanceId));
        succeeded++;
      } catch (ExecutionException e) {
        assertInstanceOf(PodiumException.Unavailable.class, PodiumClient.unwrap(e));
      }
    }
    assertTrue(succeeded >= 12, "retries should carry most calls through, got " + succeeded + "/20");

    emulator.faults().reset();
    emulator.faults().restLatency(Duration.ofMillis(1500));
    Throwable timedOut = failure(client.instance(instanceId));
    assertInstanceOf(PodiumException.Unavailable.class, timedOut);
    assertTrue(timedOut.getMessage().contains("no answer within"), timedOut.getMessage());
  }

  @Test
  void theCircuitBreakerFailsFastAfterRepeatedFailures() throws Exception {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    PodiumSettings tight = settings(emulator.baseUrl(), null);
    tight = PodiumSettings.from(ConfigFactory.parseString(
            "legato.podium { circuit-breaker { max-failures = 2, reset-timeout = 30s }, retry.attempts = 1 }")
        .withFallback(ConfigFactory.load())).withUrl(emulator.baseUrl());
    PodiumClient client = new PodiumClient(testKit.system(), tight);
    emulator.faults().failRestCalls(1.0);
    failure(client.instance("inst_a"));
    failure(client.instance("inst_a"));
    emulator.faults().reset();
    Throwable open = failure(client.instance("inst_a"));
    assertInstanceOf(PodiumException.Unavailable.class, open);
    assertTrue(open.getMessage().contains("circuit breaker open"), open.getMessage());
  }
}
