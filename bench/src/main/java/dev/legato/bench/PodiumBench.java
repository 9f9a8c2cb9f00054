package dev.legato.bench;

import com.typesafe.config.ConfigFactory;
import dev.legato.podium.AgentCommand;
import dev.legato.podium.AgentEvent;
import dev.legato.podium.NativeCodec;
import dev.legato.podium.PodiumClient;
import dev.legato.podium.PodiumLink;
import dev.legato.podium.PodiumSettings;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * Frames/s decoded through {@link PodiumLink}s from the emulator's {@code load} agent: one link, then many
 * at once, each owner acknowledging batches as it gets them (the backpressure path a thread uses). Every
 * delta is counted, so a loss shows as a wrong total.
 */
final class PodiumBench {
  private PodiumBench() {}

  static void run(BenchOptions options) throws Exception {
    int single = options.integer("frames", 500_000);
    int links = options.integer("links", 100);
    int perLink = options.integer("frames-per-link", 10_000);
    int size = options.integer("delta-bytes", 16);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "podium-bench",
        ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(BenchOptions.config()));
    String external = options.text("podium-url", null); // e.g. an emulator in its own JVM
    try (PodiumEmulator emulator = external == null ? PodiumEmulator.start(system, EmulatorSettings.defaults()) : null) {
      String url = external == null ? emulator.baseUrl() : external;
      PodiumSettings settings = PodiumSettings.from(system.settings().config()).withUrl(url);
      PodiumClient client = new PodiumClient(system, settings);
      System.out.printf("podium benchmark: load agent, %d-byte deltas, %s, %d cores%n", size,
          external == null ? "emulator in the same JVM" : "Podium at " + external, Runtime.getRuntime().availableProcessors());
      run(system, client, settings, 1, Math.min(single, 50_000), size); // warm-up
      double one = run(system, client, settings, 1, single, size);
      double many = run(system, client, settings, links, perLink, size);
      System.out.printf("RESULT podium links=1 frames_per_s=%.0f%n", one);
      System.out.printf("RESULT podium links=%d frames_per_s=%.0f%n", links, many);
    } finally {
      org.apache.pekko.http.javadsl.Http.get(system).shutdownAllConnectionPools().toCompletableFuture().get(10, TimeUnit.SECONDS);
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static double run(ActorSystem<Void> system, PodiumClient client, PodiumSettings settings, int links,
                            int framesPerLink, int size) throws Exception {
    String deployment = client.resolveDeployment("load").toCompletableFuture().get(10, TimeUnit.SECONDS);
    NativeCodec codec = new NativeCodec();
    LongAdder deltas = new LongAdder();
    CountDownLatch connected = new CountDownLatch(links);
    CountDownLatch finished = new CountDownLatch(links);
    List<ActorRef<PodiumLink.Command>> linkRefs = new ArrayList<>();
    for (int i = 0; i < links; i++) {
      String instanceId = client.createInstance(deployment, Map.of(), Map.of()).toCompletableFuture()
          .get(10, TimeUnit.SECONDS).instanceId();
      ActorRef<PodiumLink.Output> owner = system.systemActorOf(counter(deltas, connected, finished), "owner-" + System.nanoTime() + "-" + i,
          org.apache.pekko.actor.typed.Props.empty());
      linkRefs.add(system.systemActorOf(PodiumLink.create(client, settings, codec, instanceId, owner),
          "link-" + System.nanoTime() + "-" + i, org.apache.pekko.actor.typed.Props.empty()));
    }
    if (!connected.await(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("links did not connect");
    }
    long start = System.nanoTime();
    List<CompletableFuture<Done>> sent = new ArrayList<>();
    for (ActorRef<PodiumLink.Command> link : linkRefs) {
      sent.add(AskPattern.<PodiumLink.Command, StatusReply<Done>>ask(link,
              reply -> new PodiumLink.Send(new AgentCommand.ProcessMessage("msg_bench", framesPerLink + " " + size, List.of()), reply),
              java.time.Duration.ofSeconds(10), system.scheduler())
          .thenApply(StatusReply::getValue).toCompletableFuture());
    }
    CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
    if (!finished.await(300, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the streams did not finish: " + deltas.sum() + " deltas");
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long expected = (long) links * framesPerLink;
    if (deltas.sum() != expected) {
      throw new IllegalStateException("lost deltas: " + deltas.sum() + " of " + expected + " (malformed "
          + codec.malformedCount() + ", unknown " + codec.unknownCount() + ")");
    }
    linkRefs.forEach(link -> link.tell(new PodiumLink.Close()));
    double rate = expected / seconds;
    System.out.printf("  links=%d: %,d deltas in %.2f s = %,.0f frames/s (malformed %d, unknown %d)%n",
        links, expected, seconds, rate, codec.malformedCount(), codec.unknownCount());
    return rate;
  }

  private static Behavior<PodiumLink.Output> counter(LongAdder deltas, CountDownLatch connected, CountDownLatch finished) {
    return Behaviors.receive(PodiumLink.Output.class)
        .onMessage(PodiumLink.StateChanged.class, change -> {
          if (change.state() instanceof PodiumLink.LinkState.Connected) {
            connected.countDown();
          } else if (!(change.state() instanceof PodiumLink.LinkState.Closed)) {
            System.out.println("  link state: " + change.state()); // a drop during a run is worth seeing
          }
          return Behaviors.same();
        })
        .onMessage(PodiumLink.Events.class, batch -> {
          int count = 0;
          boolean completed = false;
          for (AgentEvent event : batch.events()) {
            if (event instanceof AgentEvent.TextDelta) {
              count++;
            } else if (event instanceof AgentEvent.MessageCompleted) {
              completed = true;
            }
          }
          deltas.add(count); // before the latch: the main thread reads the total once it opens
          if (completed) {
            finished.countDown();
          }
          batch.ackTo().tell(PodiumLink.Ack.INSTANCE);
          return Behaviors.same();
        })
        .build();
  }
}
