package dev.legato.gateway;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Source;

/**
 * What a connection has said that its socket has not yet taken: at most {@code messages} messages, and
 * {@code characters} characters of text plus one message. Both bounds matter: a thread's updates come in
 * batches of any size, so counting messages alone would not bound what a client that does not read holds.
 *
 * <p>Its queue is the socket's own outbound source ({@link #source}), materialized with the socket's stream:
 * no stream of its own in between. It is there before the connection reads its first message, so before
 * anything is offered.
 */
final class Outbox {
  private final int messages;
  private final long characters;
  private final AtomicLong queued = new AtomicLong();
  private volatile BoundedSourceQueue<Message> queue;
  private volatile UniqueKillSwitch cut;
  /** The close frame the socket ends with once closing has begun; null while it is open. */
  private volatile CloseFrame closing;

  /** A WebSocket close code (RFC 6455, 7.4.1) and its reason. */
  record CloseFrame(int code, String reason) {}

  Outbox(int messages, long characters) {
    this.messages = messages;
    this.characters = characters;
  }

  /** The source that empties this outbox into the socket; materialize it once. */
  Source<Message, NotUsed> source() {
    return Source.<Message>queue(messages)
        .map(message -> {
          queued.addAndGet(-message.asTextMessage().getStrictText().length());
          return message;
        })
        .viaMat(KillSwitches.single(), Keep.both())
        .mapMaterializedValue(materialized -> {
          queue = materialized.first();
          cut = materialized.second();
          return NotUsed.getInstance();
        });
  }

  /**
   * Queues a text message; false when the client does not keep up: the queue holds its maximum of messages,
   * or more than its maximum of characters (one message of any size is taken while it holds less).
   */
  boolean offer(String text) {
    if (closing != null) {
      return true; // the socket is closing: nothing more goes out, and that is not the client's fault
    }
    if (queued.get() > characters) {
      return false;
    }
    queued.addAndGet(text.length());
    if (queue.offer(TextMessage.create(text)) != QueueOfferResult.enqueued()) {
      queued.addAndGet(-text.length());
      return false;
    }
    return true;
  }

  /** Closes the socket with this code once what is queued is sent. */
  void close(int code, String reason) {
    if (startClosing(code, reason)) {
      queue.complete();
    }
  }

  /** Closes the socket with this code at once, dropping what is queued. */
  void cutOff(int code, String reason) {
    if (startClosing(code, reason)) {
      cut.shutdown();
    }
  }

  /** The close frame chosen by {@link #close} or {@link #cutOff}, or null: then Pekko HTTP's own (1000). */
  CloseFrame closing() {
    return closing;
  }

  private synchronized boolean startClosing(int code, String reason) {
    if (closing != null) {
      return false;
    }
    closing = new CloseFrame(code, reason);
    return true;
  }
}
