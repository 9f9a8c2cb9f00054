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

  /** Closes the socket once what is queued is sent. */
  void complete() {
    queue.complete();
  }

  /** Closes the socket at once, dropping what is queued. */
  void cutOff() {
    cut.shutdown();
  }
}
