package dev.legato.thread;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * What this node's threads are doing, as plain counters any metrics library can read: live threads by
 * phase, links by state, turns by outcome, deltas streamed, persistence latency. Threads update it as they
 * change; reading it costs nothing.
 */
public final class ThreadMeters implements Extension {
  public static final List<String> PHASES = List.of("new", "ready", "running", "waiting");
  public static final List<String> LINK_STATES = List.of("connected", "connecting", "none");
  public static final List<String> OUTCOMES = List.of("completed", "interrupted", "failed");

  private final AtomicLong[] phases = counters(PHASES.size());
  private final AtomicLong[] links = counters(LINK_STATES.size());
  private final LongAdder[] turnsEnded = adders(OUTCOMES.size());
  private final LongAdder turnsStarted = new LongAdder();
  private final LongAdder deltas = new LongAdder();
  private final LongAdder linkLosses = new LongAdder();
  private final LongAdder promptsResent = new LongAdder();
  private final LongAdder persists = new LongAdder();
  private final LongAdder persistNanos = new LongAdder();
  private final AtomicLong maxPersistNanos = new AtomicLong();
  /** The threads running a turn, each with when it began to (what a draining node waits for). */
  private final ConcurrentHashMap<Gauges, Long> runningSince = new ConcurrentHashMap<>();

  public static ThreadMeters get(ActorSystem<?> system) {
    return Id.INSTANCE.get(system);
  }

  /** A live thread moved from one phase to another; null for none (started / stopped). */
  void phase(String from, String to) {
    move(phases, PHASES, from, to);
  }

  void link(String from, String to) {
    move(links, LINK_STATES, from, to);
  }

  void turnStarted() {
    turnsStarted.increment();
  }

  void turnEnded(String outcome) {
    int index = OUTCOMES.indexOf(outcome);
    if (index >= 0) {
      turnsEnded[index].increment();
    }
  }

  void deltas(int count) {
    deltas.add(count);
  }

  /** A link reported its instance gone or gave up. */
  void linkLost() {
    linkLosses.increment();
  }

  /** A turn's prompt went to a new agent: the first was gone before it answered. */
  void promptResent() {
    promptsResent.increment();
  }

  void persisted(long nanos) {
    persists.increment();
    persistNanos.add(nanos);
    maxPersistNanos.accumulateAndGet(nanos, Math::max);
  }

  public long threads(String phase) {
    return phases[PHASES.indexOf(phase)].get();
  }

  /**
   * How many threads run a turn they began at or before {@code nanoTime} ({@link System#nanoTime()}): a node
   * draining waits for the turns running when it began to, not for those its threads' clients start since.
   */
  public long runningSince(long nanoTime) {
    return runningSince.values().stream().filter(since -> since - nanoTime <= 0).count();
  }

  public long links(String state) {
    return links[LINK_STATES.indexOf(state)].get();
  }

  public long turnsStarted() {
    return turnsStarted.sum();
  }

  public long turnsEnded(String outcome) {
    return turnsEnded[OUTCOMES.indexOf(outcome)].sum();
  }

  public long deltas() {
    return deltas.sum();
  }

  public long linkLosses() {
    return linkLosses.sum();
  }

  public long promptsResent() {
    return promptsResent.sum();
  }

  public long persists() {
    return persists.sum();
  }

  public double persistSeconds() {
    return persistNanos.sum() / 1e9;
  }

  /** The longest persist since the last call (then reset): a gauge of the worst recent latency. */
  public double takeMaxPersistSeconds() {
    return maxPersistNanos.getAndSet(0) / 1e9;
  }

  private static void move(AtomicLong[] counters, List<String> names, String from, String to) {
    if (from != null && from.equals(to)) {
      return;
    }
    if (from != null) {
      counters[names.indexOf(from)].decrementAndGet();
    }
    if (to != null) {
      counters[names.indexOf(to)].incrementAndGet();
    }
  }

  private static AtomicLong[] counters(int n) {
    AtomicLong[] counters = new AtomicLong[n];
    for (int i = 0; i < n; i++) {
      counters[i] = new AtomicLong();
    }
    return counters;
  }

  private static LongAdder[] adders(int n) {
    LongAdder[] adders = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      adders[i] = new LongAdder();
    }
    return adders;
  }

  /** One thread's view of the meters: what it last reported, so that its phase and link move, never double. */
  Gauges gauges() {
    return new Gauges();
  }

  final class Gauges {
    private String phase;
    private String link;

    /** Recovery is over: the thread counts in its phase from now on. */
    void recovered(String now) {
      phase(now);
    }

    void turnStarted() {
      ThreadMeters.this.turnStarted();
    }

    void turnEnded(String outcome) {
      ThreadMeters.this.turnEnded(outcome);
    }

    void link(String now) {
      ThreadMeters.this.link(link, now);
      link = now;
    }

    void stopped() {
      runningSince.remove(this);
      ThreadMeters.this.phase(phase, null);
      ThreadMeters.this.link(link, null);
    }

    void deltas(int count) {
      ThreadMeters.this.deltas(count);
    }

    void persisted(long nanos) {
      ThreadMeters.this.persisted(nanos);
    }

    void promptResent() {
      ThreadMeters.this.promptResent();
    }

    void linkLost() {
      ThreadMeters.this.linkLost();
    }

    void phase(String now) {
      if (!"running".equals(now)) {
        runningSince.remove(this);
      } else if (!"running".equals(phase)) {
        runningSince.put(this, System.nanoTime());
      }
      ThreadMeters.this.phase(phase, now);
      phase = now;
    }
  }

  private static final class Id extends AbstractExtensionId<ThreadMeters> {
    static final Id INSTANCE = new Id();

    @Override
    public ThreadMeters createExtension(ExtendedActorSystem system) {
      return new ThreadMeters();
    }
  }
}
