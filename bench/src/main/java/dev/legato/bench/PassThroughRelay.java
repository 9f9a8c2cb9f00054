package dev.legato.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.reactivestreams.Subscriber;

/**
 * The baseline of {@code ./legato bench gateway}: the least a WebSocket front for Podium can do, on the
 * same stack as Legato (a Pekko HTTP server for clients; the JDK's HTTP and WebSocket client towards
 * Podium, reading ahead at most 256 frames, as Legato's link does; a JVM of its own). No actors, no
 * persistence, no JSON-RPC beyond the three requests the benchmark client sends: {@code initialize} is
 * answered at once; {@code thread/start} creates a {@code load} instance over REST, opens its native
 * WebSocket and answers with the instance id as the thread id; {@code turn/start} becomes the native
 * {@code process_message}. Every native frame goes to the client as it came, with backpressure from the
 * client's socket back to the agent. One thread per connection.
 *
 * <p>Run as {@code java -cp <bench classpath> dev.legato.bench.PassThroughRelay <podium url>}; prints
 * {@code relay is listening on 127.0.0.1:<port>}.
 */
final class PassThroughRelay {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicLong MESSAGE_IDS = new AtomicLong();
  /**
   * Frames read ahead of the client, as the queue behind Legato's link socket holds; Legato's link can hold
   * up to two batches of up to 256 more (one forming, one with its thread until acknowledged).
   */
  private static final int INCOMING_BUFFER = 256;
  /** The JDK's HTTP and WebSocket client, as Legato's Podium client uses for both. */
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private PassThroughRelay() {}

  public static void main(String[] args) throws Exception {
    String podium = args[0];
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "relay",
        com.typesafe.config.ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(BenchOptions.config()));
    ServerBinding binding = Http.get(system).newServerAt("127.0.0.1", 0)
        .bind(Directives.extractUpgradeToWebSocket(upgrade ->
            Directives.complete(upgrade.handleMessagesWith(new Client(system, podium).flow())))) // per upgrade
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    System.out.println("relay is listening on 127.0.0.1:" + binding.localAddress().getPort());
    system.getWhenTerminated().toCompletableFuture().get(); // until the benchmark ends the process
  }

  /**
   * One client connection: what it is sent is its replies merged with the native frames of its agent,
   * whose socket is plugged in (as a subscriber, so with backpressure) once thread/start opened it.
   */
  private static final class Client {
    private final ActorSystem<Void> system;
    private final Materializer materializer;
    private final String podium;
    private final Subscriber<Message> toClient;
    private final Source<Message, NotUsed> outbound;
    private final BoundedSourceQueue<Message> replies;
    private volatile WebSocket agent;
    private CompletableFuture<?> sending = CompletableFuture.completedFuture(null);

    Client(ActorSystem<Void> system, String podium) {
      this.system = system;
      this.materializer = Materializer.matFromSystem(system);
      this.podium = podium;
      Pair<Subscriber<Message>, Source<Message, NotUsed>> fromAgent =
          Source.<Message>asSubscriber().preMaterialize(materializer);
      Pair<BoundedSourceQueue<Message>, Source<Message, NotUsed>> answers =
          Source.<Message>queue(64).preMaterialize(materializer);
      this.toClient = fromAgent.first();
      this.replies = answers.first();
      this.outbound = answers.second().merge(fromAgent.second());
    }

    Flow<Message, Message, NotUsed> flow() {
      Sink<Message, ?> inbound = Flow.<Message>create()
          .mapAsync(1, message -> message.asTextMessage().toStrict(5000, materializer))
          .mapAsync(1, message -> request(message.getStrictText()))
          .to(Sink.ignore());
      return Flow.fromSinkAndSourceCoupled(inbound, outbound)
          .watchTermination((notUsed, done) -> {
            done.whenComplete((ok, error) -> {
              if (agent != null) {
                agent.abort();
              }
            });
            return NotUsed.getInstance();
          });
    }

    private CompletionStage<Object> request(String text) throws Exception {
      JsonNode request = JSON.readTree(text);
      JsonNode id = request.get("id");
      switch (request.path("method").asText()) {
        case "initialize" -> reply(id, JSON.createObjectNode());
        case "thread/start" -> {
          return startAgent().handle((instanceId, error) -> {
            ObjectNode result = JSON.createObjectNode();
            if (error != null) {
              replies.offer(TextMessage.create("{\"id\":" + id + ",\"error\":{\"code\":-32603,\"message\":"
                  + JSON.valueToTree(String.valueOf(error.getMessage())) + "}}"));
            } else {
              result.putObject("thread").put("id", instanceId);
              reply(id, result);
            }
            return null;
          });
        }
        case "turn/start" -> {
          String messageId = "msg_" + MESSAGE_IDS.incrementAndGet();
          ObjectNode frame = JSON.createObjectNode().put("type", "process_message");
          frame.putObject("content").put("message_id", messageId)
              .put("text", request.path("params").path("input").path(0).path("text").asText());
          synchronized (this) { // one send at a time, as the JDK client requires
            sending = sending.thenCompose(ignored -> agent.sendText(frame.toString(), true));
          }
          ObjectNode result = JSON.createObjectNode();
          result.putObject("turn").put("id", messageId).put("status", "inProgress");
          reply(id, result);
        }
        default -> replies.offer(TextMessage.create("{\"id\":" + id
            + ",\"error\":{\"code\":-32601,\"message\":\"the relay serves initialize, thread/start, turn/start\"}}"));
      }
      return CompletableFuture.completedFuture(null);
    }

    private void reply(JsonNode id, ObjectNode result) {
      ObjectNode message = JSON.createObjectNode();
      message.set("id", id);
      message.set("result", result);
      replies.offer(TextMessage.create(message.toString()));
    }

    /** Creates a load instance and opens its native socket; completes with the instance id once upgraded. */
    private CompletionStage<String> startAgent() {
      HttpRequest create = HttpRequest.newBuilder(URI.create(podium + "/api/v1/instances"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"deployment_id\":\"load:latest\"}")).build();
      return HTTP.sendAsync(create, HttpResponse.BodyHandlers.ofString()).thenCompose(response -> {
        String instanceId;
        try {
          instanceId = JSON.readTree(response.body()).get("instance_id").asText();
        } catch (Exception e) {
          throw new IllegalStateException("no instance: " + response.body(), e);
        }
        // Native frames to the client as they came: read ahead at most INCOMING_BUFFER, like Legato's link.
        Pair<BoundedSourceQueue<String>, Source<String, NotUsed>> frames =
            Source.<String>queue(INCOMING_BUFFER).preMaterialize(materializer);
        return HTTP.newWebSocketBuilder()
            .buildAsync(URI.create(podium.replaceFirst("^http", "ws") + "/agent/" + instanceId), new Native(frames.first()))
            .thenApply(socket -> {
              agent = socket;
              frames.second().map(text -> {
                socket.request(1); // a buffer slot is free again
                return (Message) TextMessage.create(text);
              }).runWith(Sink.fromSubscriber(toClient), materializer);
              return instanceId;
            });
      });
    }
  }

  /** Hands whole text frames of the native socket to a bounded queue; the queue's reader asks for more. */
  private static final class Native implements WebSocket.Listener {
    private final BoundedSourceQueue<String> frames;
    private StringBuilder partial;

    Native(BoundedSourceQueue<String> frames) {
      this.frames = frames;
    }

    @Override
    public void onOpen(WebSocket webSocket) {
      webSocket.request(INCOMING_BUFFER);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      if (!last) {
        (partial == null ? partial = new StringBuilder() : partial).append(data);
        webSocket.request(1); // a part takes no slot
      } else if (partial != null) {
        frames.offer(partial.append(data).toString());
        partial = null;
      } else {
        frames.offer(data.toString());
      }
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      frames.complete();
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      frames.fail(error);
    }
  }
}
