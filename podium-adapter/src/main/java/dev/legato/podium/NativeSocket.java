package dev.legato.podium;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One native WebSocket to Podium as Pekko Streams: a source of incoming text frames and a bounded queue
 * of outgoing ones. Built on the JDK's WebSocket client, which hands over frames without building a
 * substream per message (Pekko HTTP's WebSocket message API does, and that capped one link at ~65k
 * frames/s where the JDK client reads ~200k). Backpressure is end to end: the socket is asked for one more
 * frame only when one has left the incoming buffer, so a slow reader stops reading from TCP.
 */
final class NativeSocket {
  private final WebSocket webSocket;
  private final Source<String, NotUsed> incoming;
  private final BoundedSourceQueue<String> outgoing;
  private final AtomicBoolean closed = new AtomicBoolean();

  private NativeSocket(WebSocket webSocket, Source<String, NotUsed> incoming, BoundedSourceQueue<String> outgoing) {
    this.webSocket = webSocket;
    this.incoming = incoming;
    this.outgoing = outgoing;
  }

  /** Why a connection attempt failed: the HTTP status of a refused upgrade, or none for a network error. */
  static final class ConnectFailed extends RuntimeException {
    final Optional<Integer> status;

    ConnectFailed(String message, Optional<Integer> status, Throwable cause) {
      super(message, cause);
      this.status = status;
    }
  }

  static CompletionStage<NativeSocket> connect(HttpClient http, URI uri, Optional<String> apiKey, int incomingBuffer,
                                               int outgoingBuffer, int maxFrame, Duration keepAlive,
                                               Materializer materializer, NativeCodec codec) {
    Pair<BoundedSourceQueue<String>, Source<String, NotUsed>> in = Source.<String>queue(incomingBuffer).preMaterialize(materializer);
    Listener listener = new Listener(in.first(), incomingBuffer, maxFrame, codec);
    WebSocket.Builder builder = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10));
    apiKey.ifPresent(key -> builder.header("Authorization", "Bearer " + key));
    return builder.buildAsync(uri, listener)
        .handle((webSocket, error) -> {
          if (error != null) {
            Throwable cause = PodiumClient.unwrap(error);
            in.first().fail(cause);
            if (cause instanceof WebSocketHandshakeException refused) {
              int status = refused.getResponse().statusCode();
              throw new ConnectFailed("WebSocket upgrade answered " + status, Optional.of(status), cause);
            }
            throw new ConnectFailed("cannot connect: " + cause, Optional.empty(), cause);
          }
          Source<String, NotUsed> incoming = in.second().map(text -> {
            webSocket.request(1); // a buffer slot is free again
            return text;
          });
          BoundedSourceQueue<String> outgoing = Source.<String>queue(outgoingBuffer)
              .map(Optional::of)
              .keepAlive(keepAlive, Optional::<String>empty) // empty: a ping when nothing was sent for a while
              .mapAsync(1, text -> send(webSocket, text))
              .to(Sink.ignore())
              .run(materializer);
          return new NativeSocket(webSocket, incoming, outgoing);
        });
  }

  /** One send at a time, as the JDK client requires; pings travel the same way. */
  private static CompletionStage<WebSocket> send(WebSocket webSocket, Optional<String> text) {
    return text.isPresent() ? webSocket.sendText(text.get(), true) : webSocket.sendPing(ByteBuffer.allocate(0));
  }

  /** The incoming text frames; completes when Podium closes the socket, fails when it breaks. Run once. */
  Source<String, NotUsed> incoming() {
    return incoming;
  }

  /** Queues a frame to send; {@code false} when the buffer is full or the socket is closed. */
  boolean offer(String text) {
    return outgoing.offer(text).equals(org.apache.pekko.stream.QueueOfferResult.enqueued());
  }

  /** Closes normally: a close frame, then the socket. Only the first call does anything. */
  void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      outgoing.complete();
    } catch (IllegalStateException alreadyEnded) {
      // the outgoing stream ended with the socket already
    }
    webSocket.sendClose(WebSocket.NORMAL_CLOSURE, "closing").whenComplete((ws, error) -> webSocket.abort());
  }

  /** Hands complete text frames to the incoming queue; runs on the JDK client's threads, one call at a time. */
  private static final class Listener implements WebSocket.Listener {
    private final BoundedSourceQueue<String> queue;
    private final int initialDemand;
    private final int maxFrame;
    private final NativeCodec codec;
    private StringBuilder partial;
    private boolean oversized;

    Listener(BoundedSourceQueue<String> queue, int initialDemand, int maxFrame, NativeCodec codec) {
      this.queue = queue;
      this.initialDemand = initialDemand;
      this.maxFrame = maxFrame;
      this.codec = codec;
    }

    @Override
    public void onOpen(WebSocket webSocket) {
      webSocket.request(initialDemand);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      if (!last || partial != null) {
        // A frame in parts: gather it; a part takes no buffer slot, so ask for the next one at once.
        if (partial == null) {
          partial = new StringBuilder();
        }
        if (!oversized) {
          partial.append(data);
          oversized = partial.length() > maxFrame;
        }
        if (!last) {
          webSocket.request(1);
          return null;
        }
        String whole = oversized ? null : partial.toString();
        partial = null;
        if (oversized) {
          oversized = false;
          codec.skipped("a frame larger than max-frame-size (" + maxFrame + " characters)");
          webSocket.request(1);
          return null;
        }
        queue.offer(whole);
        return null;
      }
      if (data.length() > maxFrame) {
        codec.skipped("a frame of " + data.length() + " characters exceeds max-frame-size");
        webSocket.request(1);
        return null;
      }
      queue.offer(data.toString());
      return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
      webSocket.request(1); // not part of the contract: ignored
      return null;
    }

    @Override
    public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
      webSocket.request(1); // the client answers with a pong by itself
      return null;
    }

    @Override
    public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      queue.complete();
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      queue.fail(error);
    }
  }
}
