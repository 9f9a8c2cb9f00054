package dev.legato.storage;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.PersistentEnvelope;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.testkit.javadsl.TestKit;
import com.typesafe.config.ConfigFactory;
import scala.jdk.javaapi.CollectionConverters;

/** Talks to the configured journal plugin the way a persistent actor does, one request at a time. */
final class JournalProbe {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private final ActorSystem system;
  private final ActorRef journal;

  JournalProbe(ActorSystem system) {
    this.system = system;
    this.journal = Persistence.get(system).journalFor(null, ConfigFactory.empty());
  }

  /**
   * Writes atomic writes (each a list of payloads) with consecutive sequence numbers from {@code firstSeq}
   * and returns the journal's answer for each event: WriteMessageSuccess, WriteMessageRejected or
   * WriteMessageFailure.
   */
  @SafeVarargs
  final List<Object> write(String persistenceId, long firstSeq, List<?>... atomicWrites) {
    TestKit probe = new TestKit(system);
    List<PersistentEnvelope> writes = new ArrayList<>();
    long seq = firstSeq;
    int events = 0;
    for (List<?> payloads : atomicWrites) {
      List<PersistentRepr> reprs = new ArrayList<>();
      for (Object payload : payloads) {
        reprs.add(PersistentRepr.apply(payload, seq++, persistenceId, "", false, ActorRef.noSender(), "test-writer"));
        events++;
      }
      writes.add(new AtomicWrite(CollectionConverters.asScala(reprs).toList()));
    }
    journal.tell(new JournalProtocol.WriteMessages(
        CollectionConverters.asScala(writes).toList(), probe.getRef(), 1), probe.getRef());
    Object first = probe.expectMsgAnyClassOf(TIMEOUT,
        JournalProtocol.WriteMessagesSuccessful$.class, JournalProtocol.WriteMessagesFailed.class);
    List<Object> answers = new ArrayList<>();
    for (int i = 0; i < events; i++) {
      answers.add(probe.receiveOne(TIMEOUT));
    }
    if (first instanceof JournalProtocol.WriteMessagesFailed failed) {
      answers.add(0, failed);
    }
    return answers;
  }

  /** Sends one atomic write without waiting; the journal answers the returned probe. */
  TestKit send(String persistenceId, long firstSeq, List<?> payloads) {
    TestKit probe = new TestKit(system);
    List<PersistentRepr> reprs = new ArrayList<>();
    long seq = firstSeq;
    for (Object payload : payloads) {
      reprs.add(PersistentRepr.apply(payload, seq++, persistenceId, "", false, ActorRef.noSender(), "test-writer"));
    }
    List<PersistentEnvelope> writes = List.of(new AtomicWrite(CollectionConverters.asScala(reprs).toList()));
    journal.tell(new JournalProtocol.WriteMessages(CollectionConverters.asScala(writes).toList(), probe.getRef(), 1),
        probe.getRef());
    return probe;
  }

  List<Object> writeOne(String persistenceId, long seq, Object payload) {
    return write(persistenceId, seq, List.of(payload));
  }

  /** Replays everything; returns the payloads, or throws with the journal's failure. */
  List<Object> replay(String persistenceId) {
    TestKit probe = new TestKit(system);
    journal.tell(new JournalProtocol.ReplayMessages(1, Long.MAX_VALUE, Long.MAX_VALUE, persistenceId, probe.getRef()),
        probe.getRef());
    List<Object> payloads = new ArrayList<>();
    while (true) {
      Object message = probe.receiveOne(TIMEOUT);
      if (message instanceof JournalProtocol.ReplayedMessage replayed) {
        payloads.add(replayed.persistent().payload());
      } else if (message instanceof JournalProtocol.RecoverySuccess) {
        return payloads;
      } else if (message instanceof JournalProtocol.ReplayMessagesFailure failure) {
        throw new AssertionError("replay failed: " + failure.cause(), failure.cause());
      } else {
        throw new AssertionError("unexpected " + message);
      }
    }
  }

  long highestSequenceNr(String persistenceId) {
    TestKit probe = new TestKit(system);
    journal.tell(new JournalProtocol.ReplayMessages(Long.MAX_VALUE, Long.MAX_VALUE, 0, persistenceId, probe.getRef()),
        probe.getRef());
    Object message = probe.receiveOne(TIMEOUT);
    if (message instanceof JournalProtocol.RecoverySuccess success) {
      return success.highestSequenceNr();
    }
    throw new AssertionError("unexpected " + message);
  }

  /**
   * Writes {@code count} events for {@code persistenceId} from {@code from}, in atomic writes of one to four:
   * messages, and memories (which overwrite each other), all tagged {@code tag}. Returns the next sequence number.
   */
  long writeMixed(String persistenceId, long from, int count, String tag) {
    long seq = from;
    int written = 0;
    while (written < count) {
      List<String> events = new ArrayList<>();
      for (int i = 0; i < 1 + (written % 4) && written < count; i++, written++) {
        events.add(written % 3 == 0
            ? "memory k" + (written % 7) + " " + tag + "v" + written
            : "message m" + tag + "w" + written + " t1 user " + tag + " text " + "x".repeat(written * 37 % 300));
      }
      if (!succeeded(write(persistenceId, seq, events))) {
        throw new AssertionError("write at " + seq + " failed");
      }
      seq += events.size();
    }
    return seq;
  }

  static boolean succeeded(List<Object> answers) {
    return answers.stream().allMatch(a -> a instanceof JournalProtocol.WriteMessageSuccess);
  }
}
