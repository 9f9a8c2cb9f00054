package dev.legato.storage;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The child process of {@link CrashTest} and {@link ReplicaCrashTest}: event-sourced writers persisting
 * batches as fast as they can, printing {@code RECOVERED <pid> <seq>} after recovery and
 * {@code ACK <pid> <seq>} after every acknowledged batch, until it is killed.
 *
 * <p>Arguments: data directory, number of ids, run number; optionally configuration to add (HOCON) and
 * {@code memories}, with which every third batch also writes memories (its odd-numbered events).
 * Every event's text ends with {@code <run> <batch> <index> <size>}, so a reader can tell a torn batch.
 */
public final class CrashWriter {
  private static final PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);

  private CrashWriter() {}

  /** The persistenceIds the writers use: half thread entities (with a projection), half others. */
  static List<String> persistenceIds(int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add(i % 2 == 0
          ? StorageLayout.threadPersistenceId(UUID.nameUUIDFromBytes(("crash-" + i).getBytes(StandardCharsets.UTF_8)))
          : "Crash|writer-" + i);
    }
    return ids;
  }

  public static void main(String[] args) {
    Path dataDir = Path.of(args[0]);
    int count = Integer.parseInt(args[1]);
    int run = Integer.parseInt(args[2]);
    String extraConfig = args.length > 3 ? args[3] : "";
    boolean memories = args.length > 4 && args[4].equals("memories");
    ActorSystem.create(Behaviors.setup(context -> {
      for (String id : persistenceIds(count)) {
        context.spawnAnonymous(Writer.create(PersistenceId.ofUniqueId(id), run, memories));
      }
      return Behaviors.empty();
    }), "crash-writer", TestConfigs.storage(dataDir, TestConfigs.WITH_PROJECTION + extraConfig));
  }

  static synchronized void print(String line) {
    out.println(line);
    out.flush();
  }

  static final class Writer extends EventSourcedBehavior<Writer.Next, String, Long> {
    enum Next { INSTANCE }

    static Behavior<Next> create(PersistenceId id, int run, boolean memories) {
      return Behaviors.setup(context -> new Writer(id, context.getSelf(), run, memories));
    }

    private final ActorRef<Next> self;
    private final int run;
    private final boolean memories;
    private int batch;

    private Writer(PersistenceId id, ActorRef<Next> self, int run, boolean memories) {
      super(id);
      this.self = self;
      this.run = run;
      this.memories = memories;
    }

    @Override
    public Long emptyState() {
      return 0L;
    }

    @Override
    public CommandHandler<Next, String, Long> commandHandler() {
      return newCommandHandlerBuilder().forAnyState().onCommand(Next.class, (seq, next) -> {
        int size = ThreadLocalRandom.current().nextInt(1, 5);
        int b = ++batch;
        List<String> events = new ArrayList<>();
        for (int i = 1; i <= size; i++) {
          // "message" events also exercise the read side; the text names run, batch, index and size
          String tail = " user crash " + run + " " + b + " " + i + " " + size;
          events.add(memories && b % 3 == 0 && i % 2 == 1
              ? "memory r" + run + "b" + b + "i" + i + " s" + size + tail // memory.db: key r..b..i.., value s<size>
              : "message r" + run + "b" + b + "i" + i + " t" + tail);
        }
        return Effect().persist(events).thenRun(after -> {
          print("ACK " + persistenceId().id() + " " + after);
          self.tell(Next.INSTANCE);
        });
      }).build();
    }

    @Override
    public EventHandler<Long, String> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((seq, event) -> seq + 1);
    }

    @Override
    public SignalHandler<Long> signalHandler() {
      return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), seq -> {
        print("RECOVERED " + persistenceId().id() + " " + seq);
        self.tell(Next.INSTANCE);
      }).build();
    }
  }
}
