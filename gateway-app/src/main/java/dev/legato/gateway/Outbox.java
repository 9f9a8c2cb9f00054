package dev.legato.gateway;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Source;

/**
 * What a connection has said that its socket has not yet taken: at most {@code messages} messages, and
 * {@code characters} characters of text plus one message. Both bounds matter: a thread's updates come in
 * batches of any size, so counting messages alone would not bound what a client that does not read holds.
 */
final class Outbox {
  private final BoundedSourceQueue<Message> queue;
  private final UniqueKillSwitch cut;
  private final AtomicLong queued;
  private final long characters;

  private Outbox(BoundedSourceQueue<Message> queue, UniqueKillSwitch cut, AtomicLong queued, long characters) {
    this.queue = queue;
    this.cut = cut;
    this.queued = queued;
    this.characters = characters;
  }

  /** The outbox and the source that empties it into the socket. */
  static Pair<Outbox, Source<Message, NotUsed>> create(int messages, long characters, Materializer materializer) {
    AtomicLong queued = new AtomicLong();
    Pair<Pair<BoundedSourceQueue<Message>, UniqueKillSwitch>, Source<Message, NotUsed>> source =
        Source.<Message>queue(messages)
            .map(message -> {
              queued.addAndGet(-message.asTextMessage().getStrictText().length());
              return message;
            })
            .viaMat(KillSwitches.single(), Keep.both())
            .preMaterialize(materializer);
    Outbox outbox = new Outbox(source.first().first(), source.first().second(), queued, characters);
    return Pair.create(outbox, source.second());
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
