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
  private final BoundedSourceQueue<String> outgoing;
  private final AtomicBoolean closed = new AtomicBoolean();

  private NativeSocket(WebSocket webSocket, BoundedSourceQueue<String> outgoing) {
    this.webSocket = webSocket;
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

  /**
   * Opens a socket whose incoming text frames run into {@code reader}, which is materialized at once, before
   * the upgrade is answered: the frames' whole path exists for as long as the attempt takes. (Handing a
   * pre-materialized source to a reader later broke under load: Pekko cancels such a source when nobody
   * subscribes within {@code subscription-timeout}, 5 s, and a slow upgrade then left a link whose socket
   * was open but whose stream had died with "Processor actor terminated".) The reader's stream completes
   * when Podium closes the socket and fails when it breaks or the attempt fails.
   */
  static CompletionStage<NativeSocket> connect(HttpClient http, URI uri, Optional<String> apiKey, int incomingBuffer,
                                               int outgoingBuffer, int maxFrame, Duration keepAlive,
                                               Materializer materializer, NativeCodec codec,
                                               Sink<String, NotUsed> reader) {
    Listener listener = new Listener(incomingBuffer, maxFrame, codec);
    BoundedSourceQueue<String> in = Source.<String>queue(incomingBuffer)
        .map(text -> {
          listener.requestOne(); // a buffer slot is free again
          return text;
        })
        .to(reader)
        .run(materializer);
    listener.queue = in;
    WebSocket.Builder builder = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10));
    apiKey.ifPresent(key -> builder.header("Authorization", "Bearer " + key));
    return builder.buildAsync(uri, listener)
        .handle((webSocket, error) -> {
          if (error != null) {
            Throwable cause = PodiumClient.unwrap(error);
            in.fail(cause);
            if (cause instanceof WebSocketHandshakeException refused) {
              int status = refused.getResponse().statusCode();
              throw new ConnectFailed("WebSocket upgrade answered " + status, Optional.of(status), cause);
            }
            throw new ConnectFailed("cannot connect: " + cause, Optional.empty(), cause);
          }
          BoundedSourceQueue<String> outgoing = Source.<String>queue(outgoingBuffer)
              .map(Optional::of)
              .keepAlive(keepAlive, Optional::<String>empty) // empty: a ping when nothing was sent for a while
              .mapAsync(1, text -> send(webSocket, text))
              .to(Sink.ignore())
              .run(materializer);
          return new NativeSocket(webSocket, outgoing);
        });
  }

  /** One send at a time, as the JDK client requires; pings travel the same way. */
  private static CompletionStage<WebSocket> send(WebSocket webSocket, Optional<String> text) {
    return text.isPresent() ? webSocket.sendText(text.get(), true) : webSocket.sendPing(ByteBuffer.allocate(0));
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
    /** Set before the socket is asked to open, so before any callback. */
    volatile BoundedSourceQueue<String> queue;
    /** Set by {@link #onOpen}, which comes before any frame reaches the queue. */
    private volatile WebSocket webSocket;
    private final int initialDemand;
    private final int maxFrame;
    private final NativeCodec codec;
    private StringBuilder partial;
    private boolean oversized;

    Listener(int initialDemand, int maxFrame, NativeCodec codec) {
      this.initialDemand = initialDemand;
      this.maxFrame = maxFrame;
      this.codec = codec;
    }

    void requestOne() {
      webSocket.request(1);
    }

    @Override
    public void onOpen(WebSocket webSocket) {
      this.webSocket = webSocket;
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
        offer(whole);
        return null;
      }
      if (data.length() > maxFrame) {
        codec.skipped("a frame of " + data.length() + " characters exceeds max-frame-size");
        webSocket.request(1);
        return null;
      }
      offer(data.toString());
      return null;
    }

    /** A frame for the reader; dropped once the reader's stream has ended (the link let the socket go). */
    private void offer(String text) {
      try {
        queue.offer(text);
      } catch (IllegalStateException ended) {
        // the reader is gone: nobody wants this frame
      }
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
      try {
        queue.complete();
      } catch (IllegalStateException ended) {
        // the reader's stream ended already
      }
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      try {
        queue.fail(error);
      } catch (IllegalStateException ended) {
        // the reader's stream ended already
      }
    }
  }
}
