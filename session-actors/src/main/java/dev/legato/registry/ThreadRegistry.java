package dev.legato.registry;

import dev.legato.serialization.CborSerializable;
import org.apache.pekko.actor.typed.Props;
import dev.legato.thread.ThreadCommand;
import dev.legato.storage.SessionStorage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import dev.legato.thread.FailedWrites;
import dev.legato.thread.FailureKind;
import dev.legato.thread.ThreadEntity;
import java.time.Duration;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One tenant's threads: it starts, archives and deletes them (through their sharded ThreadEntity) and is
 * the source for listing (pages, filters, search, sort) and for the name, archived
 * flag and preview of each thread. Persisted, sharded by tenant id ({@code Registry|<tenant>}), with
 * snapshots so that a large tenant recovers quickly. A tenant sees only its own registry: tenant
 * isolation is the entity boundary.
 */
public final class ThreadRegistry
    extends EventSourcedBehaviorWithEnforcedReplies<ThreadRegistry.Command, ThreadRegistry.Event, ThreadRegistry.State> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "Registry");
  private static final int PREVIEW_LENGTH = 200;

  // ---- protocol ------------------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  /** A command answered with a {@link StatusReply}: a registry moving to another node answers it {@link #MOVING}. */
  interface Request {
    ActorRef<? extends StatusReply<?>> replyTo();
  }

  /** What a registry that is moving to another node answers every request: the sender may send it again at once. */
  public static final String MOVING = "the tenant's registry is moving to another node; try again in a moment";

  /**
   * Starts a thread for this tenant: a new UUID, its {@code ThreadEntity} created (agent started on
   * Podium), then registered. Replies with the listing entry.
   *
   * @param forkOf the thread (the asker checked it is this tenant's) and turn this one forks; null for a new one
   * @param requestId the request's own id, or null: a copy of a start (its first answer lost with a node, or its
   *     first copy dropped while the registry moved) is answered with the thread the first one started, whether
   *     that start is still under way or long recorded (the registry remembers its last {@link #REMEMBERED_STARTS})
   */
  public record StartThread(String agentType, String name, String cwd, ThreadCommand.ForkOf forkOf, String requestId,
                            ActorRef<StatusReply<ThreadSummary>> replyTo) implements Command, Request {
    public StartThread(String agentType, String name, String cwd, ActorRef<StatusReply<ThreadSummary>> replyTo) {
      this(agentType, name, cwd, null, null, replyTo);
    }

    public StartThread(String agentType, String name, String cwd, ThreadCommand.ForkOf forkOf,
                       ActorRef<StatusReply<ThreadSummary>> replyTo) {
      this(agentType, name, cwd, forkOf, null, replyTo);
    }
  }

  /** How many starts' request ids a registry remembers, to answer copies of them. */
  static final int REMEMBERED_STARTS = 1024;

  /** Archives or unarchives the thread itself (its link and files), then its listing entry. */
  public record ArchiveThread(UUID threadId, boolean archived, ActorRef<StatusReply<ThreadSummary>> replyTo)
      implements Command, Request {}

  /** Deletes the thread itself (Podium instance, files), then forgets it. */
  public record DeleteThread(UUID threadId, ActorRef<StatusReply<Done>> replyTo) implements Command, Request {}

  /** @param firstPrompt a fork's first user message, its preview (null otherwise) */
  record ThreadStarted(UUID threadId, StartThread request, String firstPrompt, String error) implements Command {}

  private record PrepareSpares() implements Command {}

  record ThreadArchived(ArchiveThread request, String error) implements Command {}

  record ThreadDeleted(DeleteThread request, String error) implements Command {}

  record HandOff() implements Command {} // from the shard: stop once the journal is in the replica (RegistryHandover)
  record HandedOff(String error) implements Command {}

  /** Adds a new thread; refused if the id is known (even a deleted one is gone from here, so it may return). */
  public record Register(UUID threadId, String name, String agentType, long createdAt, String cwd,
                         ActorRef<StatusReply<ThreadSummary>> replyTo) implements Command, Request {}

  /**
   * Records activity: the time, and the text of a user message. The preview is the thread's first user
   * message (Codex's meaning): set by the first Touch that carries text, never replaced by later ones.
   * Unknown ids are ignored.
   */
  public record Touch(UUID threadId, String preview, long at) implements Command {}

  public record Rename(UUID threadId, String name, ActorRef<StatusReply<ThreadSummary>> replyTo) implements Command, Request {}

  public record SetArchived(UUID threadId, boolean archived, long at, ActorRef<StatusReply<ThreadSummary>> replyTo)
      implements Command, Request {}

  /**
   * A thread an operator restored, as its restored files tell it: listed again when it was not (a deleted
   * thread is back; its name died with it, its preview is its first prompt), or, when still listed (a
   * roll-back), its archived flag set as it was at that moment (name and preview stay).
   */
  public record Restored(UUID threadId, String agentType, long createdAt, String cwd, boolean archived, String preview,
                         ActorRef<StatusReply<ThreadSummary>> replyTo) implements Command, Request {}

  /** Forgets a deleted thread. */
  public record Unregister(UUID threadId, ActorRef<StatusReply<Done>> replyTo) implements Command, Request {}

  public record Get(UUID threadId, ActorRef<StatusReply<ThreadSummary>> replyTo) implements Command, Request {}

  public record ListThreads(ThreadQuery query, ActorRef<StatusReply<ThreadPage>> replyTo) implements Command, Request {}

  /** A page of threads; {@code nextCursor} is null on the last page. */
  public record ThreadPage(List<ThreadSummary> threads, String nextCursor) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  /** @param requestId the id of the start that made the thread (null: registered otherwise, or before ids) */
  public record Registered(ThreadSummary thread, String requestId) implements Event {}

  public record Touched(UUID threadId, String preview, long at) implements Event {}

  public record Renamed(UUID threadId, String name) implements Event {}

  public record ArchivedChanged(UUID threadId, boolean archived, long at) implements Event {}

  public record Unregistered(UUID threadId) implements Event {}

  /**
   * The tenant's threads by id. Mutable and owned by this entity: events change it in place (copying a
   * large map per event would cost more than the event); replies carry immutable summaries.
   */
  public record State(Map<UUID, ThreadSummary> threads, Map<String, UUID> startedBy) implements CborSerializable {
    /** @param startedBy the threads the last starts made, by their request ids, oldest first (null: none) */
    public State {
      threads = new HashMap<>(threads);
      startedBy = startedBy == null ? new LinkedHashMap<>() : new LinkedHashMap<>(startedBy);
    }

    void started(String requestId, UUID threadId) {
      startedBy.put(requestId, threadId);
      if (startedBy.size() > REMEMBERED_STARTS) {
        startedBy.remove(startedBy.keySet().iterator().next());
      }
    }
  }

  // ---- set-up --------------------------------------------------------------------------------------------

  /**
   * Registers the registry with sharding, and first removes the folders of spares an earlier run left
   * behind (prepared, never created: no event recorded) when it stopped or crashed before they passivated.
   * Spares are kept in memory only, so no registry will ever use them; the storage removes only folders
   * with nothing recorded, so a thread whose creation was recorded (even one its registry never heard of
   * because of a crash in between) stays.
   */
  public static void init(ActorSystem<?> system) {
    RegistrySettings settings = RegistrySettings.from(system.settings().config());
    SessionStorage.get(system).removeThreadsWithoutEvents().whenComplete((removed, error) -> {
      if (error != null) {
        system.log().warn("could not remove the files of unused spare threads: {}", error.getMessage());
      } else if (removed > 0) {
        system.log().info("removed the files of {} spare threads left unused by an earlier run", removed);
      }
    });
    ClusterSharding.get(system).init(Entity.of(TYPE_KEY, context -> create(context.getEntityId(), settings))
        .withStopMessage(new HandOff()));
    system.systemActorOf(ActivityForwarder.create(), "thread-activity", Props.empty());
  }

  public static Behavior<Command> create(String tenantId, RegistrySettings settings) {
    return Behaviors.setup(context -> new ThreadRegistry(tenantId, context, settings));
  }

  private static final Duration THREAD_CALL_TIMEOUT = Duration.ofSeconds(30);

  /** Why a call to a thread failed, as the client reads it: a thread that did not answer is no fault of its. */
  private static String reason(Throwable error) {
    Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
        ? error.getCause() : error;
    return cause instanceof java.util.concurrent.TimeoutException
        ? FailureKind.TIMEOUT.describe("the thread did not answer within " + THREAD_CALL_TIMEOUT.toSeconds() + " s")
        : cause.getMessage();
  }
  private final String tenantId;
  private final ActorContext<Command> context;
  private final RegistrySettings settings;
  /**
   * Threads prepared for the next starts (started, recovered, files open): a start then only records the
   * thread. Kept in memory only; one never used removes its files when it passivates.
   */
  private final java.util.ArrayDeque<UUID> spares = new java.util.ArrayDeque<>();
  private boolean preparingSpares;
  /**
   * A client waiting on a failed write hears why at once; the registry then stops (the default), and the next
   * message recovers it. Not restarted in place (onPersistFailure): its state is changed in place, and
   * Pekko recovers a restarted entity from the same empty state object, which holds the events already.
   */
  private final FailedWrites writes = new FailedWrites();
  private final RegistryHandover handover;
  /** Work asked of threads and not answered yet (starts, archives, deletes): a hand-off records it first. */
  private int workUnderway;
  /** The starts under way by request id, with whoever sent a copy of one meanwhile (answered with the first). */
  private final Map<String, List<ActorRef<StatusReply<ThreadSummary>>>> starting = new HashMap<>();

  private ThreadRegistry(String tenantId, ActorContext<Command> context, RegistrySettings settings) {
    super(PersistenceId.of(TYPE_KEY.name(), tenantId));
    this.tenantId = tenantId;
    this.context = context;
    this.settings = settings;
    this.handover = new RegistryHandover(context, Effect(), persistenceId().id());
  }

  @Override
  public State emptyState() {
    return new State(Map.of(), Map.of());
  }

  /** Snapshots are written after the entity moves on: give the store a copy, never the live map. */
  @Override
  public SnapshotAdapter<State> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(State state) {
        return new State(state.threads(), state.startedBy());
      }

      @Override
      public State fromJournal(Object stored) {
        return (State) stored;
      }
    };
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return writes.answering(newSignalHandlerBuilder()).build();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  // ---- commands ------------------------------------------------------------------------------------------

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    CommandHandlerWithReply<Command, Event, State> commands = byCommand();
    return (state, command) -> {
      if (command instanceof ThreadStarted || command instanceof ThreadArchived || command instanceof ThreadDeleted) {
        // recorded even when the registry is about to hand off: it waits for the work under way
        if (--workUnderway == 0) {
          handover.workDone();
        }
        return commands.apply(state, command);
      }
      return command instanceof HandOff || handover.requested()
          ? handover.handle(command, workUnderway) : commands.apply(state, command);
    };
  }

  private CommandHandlerWithReply<Command, Event, State> byCommand() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Register.class, this::register)
        .onCommand(Touch.class, this::touch)
        .onCommand(Rename.class, this::rename)
        .onCommand(SetArchived.class, this::setArchived)
        .onCommand(Unregister.class, this::unregister)
        .onCommand(Restored.class, this::restored)
        .onCommand(Get.class, (state, get) -> Effect().reply(get.replyTo(), known(state, get.threadId())))
        .onCommand(ListThreads.class, this::list)
        .onCommand(StartThread.class, this::startThread)
        .onCommand(ThreadStarted.class, this::threadStarted)
        .onCommand(PrepareSpares.class, prepare -> {
          prepareSpares();
          return Effect().noReply();
        })
        .onCommand(ArchiveThread.class, this::archiveThread)
        .onCommand(ThreadArchived.class, (state, done) -> done.error() != null
            ? Effect().reply(done.request().replyTo(), StatusReply.error(done.error()))
            : setArchived(state, new SetArchived(done.request().threadId(), done.request().archived(),
                System.currentTimeMillis(), done.request().replyTo())))
        .onCommand(DeleteThread.class, this::deleteThread)
        .onCommand(ThreadDeleted.class, (state, done) -> done.error() != null
            ? Effect().reply(done.request().replyTo(), StatusReply.error(done.error()))
            : unregister(state, new Unregister(done.request().threadId(), done.request().replyTo())))
        .build();
  }

  private EntityRef<ThreadCommand> thread(UUID threadId) {
    return ClusterSharding.get(context.getSystem()).entityRefFor(ThreadEntity.TYPE_KEY, threadId.toString());
  }

  private ReplyEffect<Event, State> startThread(State state, StartThread start) {
    if (start.agentType() == null || start.agentType().isBlank()) {
      return Effect().reply(start.replyTo(), StatusReply.error("a thread needs an agent type"));
    }
    if (start.requestId() != null) {
      UUID startedBefore = state.startedBy().get(start.requestId());
      if (startedBefore != null) {
        return Effect().reply(start.replyTo(), known(state, startedBefore));
      }
      List<ActorRef<StatusReply<ThreadSummary>>> copies = starting.get(start.requestId());
      if (copies != null) {
        copies.add(start.replyTo());
        return Effect().noReply(); // answered with the first
      }
      starting.put(start.requestId(), new ArrayList<>());
    }
    UUID threadId = spares.isEmpty() ? UUID.randomUUID() : spares.poll();
    workUnderway++;
    // Sent again when unanswered or "moving": a rebalance moving the thread's shard drops what it held meanwhile. A
    // copy that comes while the thread is being created is refused, and the first one's answer is the answer.
    context.pipeToSelf(Resends.get(context.getSystem()).ask(() ->
        thread(threadId).<ThreadCommand.Created>askWithStatus(
            // Answered once the thread is recorded; its Podium instance is created shortly after.
            reply -> new ThreadCommand.Create(start.agentType(), start.cwd(), tenantId, start.forkOf(), false, reply),
            THREAD_CALL_TIMEOUT)),
        (created, error) -> new ThreadStarted(threadId, start, created == null ? null : created.firstPrompt(),
            error == null ? null : reason(error)));
    return Effect().noReply(); // answered once the thread has started its agent
  }

  private ReplyEffect<Event, State> threadStarted(State state, ThreadStarted started) {
    prepareSparesSoon();
    StartThread request = started.request();
    List<ActorRef<StatusReply<ThreadSummary>>> copies =
        request.requestId() == null ? List.of() : starting.remove(request.requestId());
    if (started.error() != null) {
      copies.forEach(copy -> copy.tell(StatusReply.error(started.error())));
      return Effect().reply(request.replyTo(), StatusReply.error(started.error()));
    }
    long now = System.currentTimeMillis();
    return register(state, new Register(started.threadId(), request.name(), request.agentType(), now, request.cwd(),
        request.replyTo()),
        // a fork's preview is the first user message of the conversation it continues, as in Codex
        started.firstPrompt() == null ? "" : preview(started.firstPrompt()), request.requestId(), copies);
  }

  /**
   * Replaces the spares used {@code prepare-spares-after} from now: the start that used one is answered
   * first instead of sharing the CPU with the preparing.
   */
  private void prepareSparesSoon() {
    if (!preparingSpares && spares.size() < settings.spareThreads()) {
      preparingSpares = true;
      context.scheduleOnce(settings.prepareSparesAfter(), context.getSelf(), new PrepareSpares());
    }
  }

  private void prepareSpares() {
    preparingSpares = false;
    while (spares.size() < settings.spareThreads()) {
      UUID spare = UUID.randomUUID();
      spares.add(spare);
      thread(spare).tell(new ThreadCommand.Prepare());
    }
  }

  private ReplyEffect<Event, State> archiveThread(State state, ArchiveThread archive) {
    if (!state.threads().containsKey(archive.threadId())) {
      return Effect().reply(archive.replyTo(), unknown(archive.threadId()));
    }
    workUnderway++;
    // sent again when a move may have dropped it: a thread archived already answers a copy as it did the first
    context.pipeToSelf(Resends.get(context.getSystem()).ask(() ->
        thread(archive.threadId()).<Done>askWithStatus(reply -> archive.archived()
            ? new ThreadCommand.Archive(reply) : new ThreadCommand.Unarchive(reply), THREAD_CALL_TIMEOUT)),
        (done, error) -> new ThreadArchived(archive, error == null ? null : reason(error)));
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> deleteThread(State state, DeleteThread delete) {
    if (!state.threads().containsKey(delete.threadId())) {
      return Effect().reply(delete.replyTo(), unknown(delete.threadId()));
    }
    workUnderway++;
    // not sent again: a copy coming as the thread stops would start it anew, on files being removed
    context.pipeToSelf(
        thread(delete.threadId()).<Done>askWithStatus(ThreadCommand.Delete::new, THREAD_CALL_TIMEOUT),
        (done, error) -> new ThreadDeleted(delete, error == null ? null : reason(error)));
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> register(State state, Register register) {
    return register(state, register, "", null, List.of());
  }

  /** @param copies who sent a copy of the start {@code requestId} names: answered as {@code register}'s sender is */
  private ReplyEffect<Event, State> register(State state, Register register, String preview, String requestId,
                                             List<ActorRef<StatusReply<ThreadSummary>>> copies) {
    if (state.threads().containsKey(register.threadId())) {
      return Effect().reply(register.replyTo(), StatusReply.error("thread " + register.threadId() + " is already registered"));
    }
    if (register.agentType() == null || register.agentType().isBlank()) {
      return Effect().reply(register.replyTo(), StatusReply.error("a thread needs an agent type"));
    }
    String name = register.name() == null ? "" : register.name().strip();
    ThreadSummary thread = new ThreadSummary(register.threadId(), name, register.agentType(), register.createdAt(),
        register.createdAt(), preview, false, register.cwd());
    writes.settled();
    writes.awaiting(register.replyTo());
    copies.forEach(writes::awaiting);
    return Effect().persist(new Registered(thread, requestId))
        .thenRun(after -> copies.forEach(copy -> copy.tell(StatusReply.success(thread))))
        .thenReply(register.replyTo(), after -> StatusReply.success(thread));
  }

  private ReplyEffect<Event, State> touch(State state, Touch touch) {
    ThreadSummary thread = state.threads().get(touch.threadId());
    if (thread == null) {
      return Effect().noReply();
    }
    boolean firstMessage = (thread.preview() == null || thread.preview().isEmpty())
        && touch.preview() != null && !touch.preview().isBlank();
    String preview = firstMessage ? preview(touch.preview()) : null;
    writes.settled();
    return Effect().persist(new Touched(touch.threadId(), preview, touch.at())).thenNoReply();
  }

  private ReplyEffect<Event, State> rename(State state, Rename rename) {
    if (!state.threads().containsKey(rename.threadId())) {
      return Effect().reply(rename.replyTo(), unknown(rename.threadId()));
    }
    if (rename.name() == null || rename.name().isBlank()) {
      return Effect().reply(rename.replyTo(), StatusReply.error("a thread name must not be blank"));
    }
    writes.settled();
    writes.awaiting(rename.replyTo());
    return Effect().persist(new Renamed(rename.threadId(), rename.name().strip()))
        .thenReply(rename.replyTo(), after -> StatusReply.success(after.threads().get(rename.threadId())));
  }

  private ReplyEffect<Event, State> setArchived(State state, SetArchived change) {
    ThreadSummary thread = state.threads().get(change.threadId());
    if (thread == null) {
      return Effect().reply(change.replyTo(), unknown(change.threadId()));
    }
    if (thread.archived() == change.archived()) {
      return Effect().reply(change.replyTo(), StatusReply.success(thread)); // already so: nothing to record
    }
    writes.settled();
    writes.awaiting(change.replyTo());
    return Effect().persist(new ArchivedChanged(change.threadId(), change.archived(), change.at()))
        .thenReply(change.replyTo(), after -> StatusReply.success(after.threads().get(change.threadId())));
  }

  private ReplyEffect<Event, State> restored(State state, Restored restored) {
    ThreadSummary listed = state.threads().get(restored.threadId());
    long now = System.currentTimeMillis();
    if (listed != null) {
      return setArchived(state, new SetArchived(restored.threadId(), restored.archived(), now, restored.replyTo()));
    }
    ThreadSummary thread = new ThreadSummary(restored.threadId(), "", restored.agentType(), restored.createdAt(), now,
        restored.preview() == null ? "" : preview(restored.preview()), restored.archived(), restored.cwd());
    writes.settled();
    writes.awaiting(restored.replyTo());
    return Effect().persist(new Registered(thread, null)).thenReply(restored.replyTo(), after -> StatusReply.success(thread));
  }

  private ReplyEffect<Event, State> unregister(State state, Unregister unregister) {
    if (!state.threads().containsKey(unregister.threadId())) {
      return Effect().reply(unregister.replyTo(), unknown(unregister.threadId()));
    }
    writes.settled();
    writes.awaiting(unregister.replyTo());
    return Effect().persist(new Unregistered(unregister.threadId()))
        .thenReply(unregister.replyTo(), after -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> list(State state, ListThreads list) {
    ThreadQuery query = list.query();
    int limit = query.limit() == 0 ? settings.defaultPageSize() : query.limit();
    if (limit < 1 || limit > settings.maxPageSize()) {
      return Effect().reply(list.replyTo(),
          StatusReply.error("page size must be between 1 and " + settings.maxPageSize() + ", got " + query.limit()));
    }
    long afterKey = Long.MAX_VALUE;
    UUID afterId = null;
    if (query.cursor() != null) {
      int colon = query.cursor().indexOf(':');
      try {
        afterKey = Long.parseLong(query.cursor().substring(0, colon));
        afterId = UUID.fromString(query.cursor().substring(colon + 1));
      } catch (RuntimeException malformed) {
        return Effect().reply(list.replyTo(), StatusReply.error("malformed cursor '" + query.cursor() + "'"));
      }
    }
    List<ThreadSummary> matching = new ArrayList<>();
    for (ThreadSummary thread : state.threads().values()) {
      if (query.matches(thread) && (afterId == null || query.after(thread, afterKey, afterId))) {
        matching.add(thread);
      }
    }
    matching.sort(query.order());
    List<ThreadSummary> page = List.copyOf(matching.subList(0, Math.min(limit, matching.size())));
    String next = null;
    if (matching.size() > limit) {
      ThreadSummary last = page.get(page.size() - 1);
      next = query.sortKey(last) + ":" + last.threadId();
    }
    return Effect().reply(list.replyTo(), StatusReply.success(new ThreadPage(page, next)));
  }

  private static StatusReply<ThreadSummary> known(State state, UUID threadId) {
    ThreadSummary thread = state.threads().get(threadId);
    return thread != null ? StatusReply.success(thread) : unknown(threadId);
  }

  private static <T> StatusReply<T> unknown(UUID threadId) {
    return StatusReply.error("unknown thread " + threadId);
  }

  private static String preview(String text) {
    String flat = text.strip().replaceAll("\\s+", " ");
    return flat.length() <= PREVIEW_LENGTH ? flat : flat.substring(0, PREVIEW_LENGTH - 1) + "…";
  }

  // ---- events --------------------------------------------------------------------------------------------

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Registered.class, (state, e) -> {
          state.threads().put(e.thread().threadId(), e.thread());
          if (e.requestId() != null) {
            state.started(e.requestId(), e.thread().threadId());
          }
          return state;
        })
        .onEvent(Touched.class, (state, e) -> {
          state.threads().computeIfPresent(e.threadId(), (id, t) -> t.touched(e.preview(), e.at()));
          return state;
        })
        .onEvent(Renamed.class, (state, e) -> {
          state.threads().computeIfPresent(e.threadId(), (id, t) -> t.renamed(e.name()));
          return state;
        })
        .onEvent(ArchivedChanged.class, (state, e) -> {
          state.threads().computeIfPresent(e.threadId(), (id, t) -> t.archived(e.archived(), e.at()));
          return state;
        })
        .onEvent(Unregistered.class, (state, e) -> {
          state.threads().remove(e.threadId());
          return state;
        })
        .build();
  }
}
