package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.legato.podium.AgentCommand;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import dev.legato.storage.SessionStorage;
import dev.legato.storage.ThreadDatabase;
import dev.legato.storage.readside.Rows;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Threads against the Podium emulator with the SQLite journal and the thread projection, over loopback. */
class ThreadEntityTest {
  static final Duration TIMEOUT = Duration.ofSeconds(15);
  static PodiumEmulator emulator;
  static ActorTestKit testKit;
  static Path dataDir;

  @BeforeAll
  static void start() throws Exception {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    dataDir = Files.createTempDirectory("legato-threads");
    testKit = ActorTestKit.create(ConfigFactory.parseMap(Map.of(
            "legato.storage.data-dir", dataDir.toString(),
            "legato.podium.url", emulator.baseUrl()))
        .withFallback(ConfigFactory.parseString("""
            pekko.persistence.journal.plugin = "legato.storage.journal"
            pekko.persistence.snapshot-store.plugin = "legato.storage.snapshot"
            pekko.loglevel = WARNING
            legato.thread.passivate-after = 1s
            legato.thread.close-link-after = 2s
            # tests that make Podium refuse calls must not open this node's circuit breaker for the others
            legato.podium.circuit-breaker.max-failures = 1000
            """))
        .withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    emulator.stop();
  }

  /** A started thread with a subscriber. */
  static final class Thread {
    final ActorTestKit kit;
    final UUID id = UUID.randomUUID();
    final ActorRef<ThreadCommand> entity;
    final TestProbe<ThreadUpdate> updates;

    Thread(String agentType) {
      this(testKit, agentType);
    }

    /** On the node of {@code kit}. */
    Thread(ActorTestKit kit, String agentType) {
      this.kit = kit;
      this.entity = kit.spawn(ThreadEntity.create(id));
      this.updates = kit.createTestProbe();
      TestProbe<StatusReply<ThreadCommand.Created>> created = kit.createTestProbe();
      entity.tell(new ThreadCommand.Create(agentType, "/work", null, created.getRef()));
      assertTrue(created.receiveMessage(TIMEOUT).isSuccess());
      TestProbe<StatusReply<Done>> subscribed = kit.createTestProbe();
      entity.tell(new ThreadCommand.Subscribe(updates.getRef(), null, subscribed.getRef()));
      assertTrue(subscribed.receiveMessage(TIMEOUT).isSuccess());
      updates.expectMessageClass(ThreadUpdate.Live.class, TIMEOUT);
    }

    ThreadCommand.Resumed resume() {
      TestProbe<StatusReply<ThreadCommand.Resumed>> reply = kit.createTestProbe();
      entity.tell(new ThreadCommand.Resume(reply.getRef()));
      return reply.receiveMessage(TIMEOUT).getValue();
    }

    void awaitLink(String state) {
      TestProbe<ThreadCommand.ThreadStatus> status = kit.createTestProbe();
      status.awaitAssert(TIMEOUT, () -> {
        entity.tell(new ThreadCommand.GetStatus(status.getRef()));
        assertEquals(state, status.receiveMessage(TIMEOUT).link());
        return null;
      });
    }

    StatusReply<ThreadCommand.TurnAccepted> startTurn(String text) {
      TestProbe<StatusReply<ThreadCommand.TurnAccepted>> reply = kit.createTestProbe();
      entity.tell(new ThreadCommand.StartTurn(text, reply.getRef()));
      return reply.receiveMessage(TIMEOUT);
    }

    ThreadCommand.ThreadStatus status() {
      TestProbe<ThreadCommand.ThreadStatus> reply = kit.createTestProbe();
      entity.tell(new ThreadCommand.GetStatus(reply.getRef()));
      return reply.receiveMessage(TIMEOUT);
    }

    /** Updates up to the next persisted event of {@code type}. */
    <E extends ThreadEvent> List<ThreadUpdate> until(Class<E> type) {
      List<ThreadUpdate> seen = new ArrayList<>();
      while (true) {
        ThreadUpdate update = updates.receiveMessage(TIMEOUT);
        seen.add(update);
        if (update instanceof ThreadUpdate.Persisted p && type.isInstance(p.event())) {
          return seen;
        }
      }
    }

    <T> T read(java.util.function.Function<ThreadDatabase, T> query) throws Exception {
      return SessionStorage.get(kit.system()).readThread(id, query).toCompletableFuture().get(15, TimeUnit.SECONDS);
    }
  }

  static <E> E last(List<ThreadUpdate> updates, Class<E> type) {
    ThreadUpdate.Persisted persisted = (ThreadUpdate.Persisted) updates.get(updates.size() - 1);
    return type.cast(persisted.event());
  }

  @Test
  void aTurnStreamsTheAnswerToSubscribersAndRecordsItDurably() throws Exception {
    Thread thread = new Thread("echo");
    assertEquals("ready", thread.status().phase());
    assertTrue(thread.startTurn("hello durable world").isSuccess());
    List<ThreadUpdate> updates = thread.until(ThreadEvent.TurnEnded.class);

    StringBuilder streamed = new StringBuilder();
    updates.stream().filter(ThreadUpdate.TextDelta.class::isInstance)
        .forEach(u -> streamed.append(((ThreadUpdate.TextDelta) u).text()));
    assertTrue(streamed.toString().contains("hello durable world"), streamed.toString());
    assertEquals("completed", last(updates, ThreadEvent.TurnEnded.class).outcome());
    long[] seqs = updates.stream().filter(ThreadUpdate.Persisted.class::isInstance)
        .mapToLong(u -> ((ThreadUpdate.Persisted) u).sequenceNr()).toArray();
    for (int i = 1; i < seqs.length; i++) {
      assertTrue(seqs[i] > seqs[i - 1], "sequence numbers increase");
    }
    assertEquals("ready", thread.status().phase());

    List<Rows.Message> messages = thread.read(ThreadDatabase::messages);
    assertEquals(List.of("user", "assistant"), messages.stream().map(Rows.Message::role).toList());
    assertEquals("hello durable world", messages.get(0).text());
    assertTrue(messages.get(1).text().contains("hello durable world"));
    Rows.Turn turn = thread.read(ThreadDatabase::turns).get(0);
    assertEquals("completed", turn.status());
    assertTrue(turn.outputTokens() > 0);
  }

  @Test
  void aStartSentAgainAsTheSameRequestGetsTheTurnTheFirstStartedAndNoOther() throws Exception {
    Thread thread = new Thread("echo");
    TestProbe<StatusReply<ThreadCommand.TurnAccepted>> first = testKit.createTestProbe();
    TestProbe<StatusReply<ThreadCommand.TurnAccepted>> again = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.StartTurn("only once", "request-1", first.getRef()));
    thread.entity.tell(new ThreadCommand.StartTurn("only once", "request-1", again.getRef())); // while it runs
    String turnId = first.receiveMessage(TIMEOUT).getValue().turnId();
    assertEquals(turnId, again.receiveMessage(TIMEOUT).getValue().turnId());
    thread.until(ThreadEvent.TurnEnded.class);
    TestProbe<StatusReply<ThreadCommand.TurnAccepted>> late = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.StartTurn("only once", "request-1", late.getRef())); // after it ended
    assertEquals(turnId, late.receiveMessage(TIMEOUT).getValue().turnId());
    assertEquals(1, thread.read(ThreadDatabase::turns).size(), "one turn for one request");

    TestProbe<StatusReply<ThreadCommand.TurnAccepted>> next = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.StartTurn("a new request", "request-2", next.getRef()));
    assertTrue(!turnId.equals(next.receiveMessage(TIMEOUT).getValue().turnId()), "another request, another turn");
  }

  @Test
  void aThreadHandedOffTellsItsFollowersItMovedAndStops() {
    Thread thread = new Thread("echo");
    TestProbe<Object> watcher = testKit.createTestProbe();
    thread.entity.tell(new Signal.HandOff());
    assertEquals(new ThreadUpdate.Moved(), thread.updates.receiveMessage(TIMEOUT), "told at once, not when its node goes");
    watcher.expectTerminated(thread.entity, TIMEOUT);
  }

  @Test
  void aSpareHandedOffTakesItsFilesWithItAndAThreadHandedOffKeepsThem() throws Exception {
    UUID spare = UUID.randomUUID();
    ActorRef<ThreadCommand> prepared = testKit.spawn(ThreadEntity.create(spare));
    prepared.tell(new ThreadCommand.Prepare());
    Path spareFolder = dataDir.resolve("sessions").resolve(spare.toString());
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!Files.exists(spareFolder.resolve("session.db"))) {
      assertTrue(System.nanoTime() < deadline, "the spare's files were never prepared");
      java.lang.Thread.sleep(20);
    }
    TestProbe<Object> watcher = testKit.createTestProbe();
    prepared.tell(new Signal.HandOff());
    watcher.expectTerminated(prepared, TIMEOUT);
    // left here, never replicated, they would be taken for the thread made and used on another node meanwhile
    assertTrue(!Files.exists(spareFolder), "a spare's files go with it");

    Thread thread = new Thread("echo");
    thread.entity.tell(new Signal.HandOff());
    watcher.expectTerminated(thread.entity, TIMEOUT);
    assertTrue(Files.exists(dataDir.resolve("sessions").resolve(thread.id.toString()).resolve("session.db")),
        "a thread's files stay, closed");
  }

  @Test
  void anApprovalPutsTheTurnInWaitingUntilTheClientDecides() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/run ls -la").isSuccess());
    ThreadEvent.ApprovalRequested request = last(thread.until(ThreadEvent.ApprovalRequested.class), ThreadEvent.ApprovalRequested.class);
    assertEquals("command", request.kind());
    assertEquals("ls -la", request.command());
    ThreadCommand.ThreadStatus waiting = thread.status();
    assertEquals("waiting", waiting.phase());
    assertEquals(request.requestId(), waiting.pendingRequestId());

    assertTrue(thread.startTurn("another").isError(), "no second turn while waiting");
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.AnswerApproval("someone-else", AgentCommand.Decision.ACCEPT, reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isError(), "an answer to an unknown request is refused");
    assertEquals(List.of(request.requestId()),
        thread.read(db -> db.approvals(true)).stream().map(Rows.Approval::requestId).toList(), "pending, durably");

    thread.entity.tell(new ThreadCommand.AnswerApproval(request.requestId(), AgentCommand.Decision.ACCEPT, reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isSuccess());
    assertEquals("completed", last(thread.until(ThreadEvent.TurnEnded.class), ThreadEvent.TurnEnded.class).outcome());
    Rows.Approval decided = thread.read(db -> db.approvals(false)).get(0);
    assertEquals("accept", decided.decision());
  }

  @Test
  void anInterruptedTurnIsRecordedAsInterrupted() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/slow /long 200").isSuccess());
    thread.updates.receiveMessage(TIMEOUT); // TurnStarted
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.Interrupt(reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isSuccess());
    assertEquals("interrupted", last(thread.until(ThreadEvent.TurnEnded.class), ThreadEvent.TurnEnded.class).outcome());
    assertEquals("ready", thread.status().phase());
  }

  @Test
  void aTurnWhoseAgentDisappearsMidAnswerFailsInsteadOfHanging() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/slow /long 200").isSuccess());
    while (!(thread.updates.receiveMessage(TIMEOUT) instanceof ThreadUpdate.TextDelta)) {
      // until the agent has started answering: from then on the turn cannot move to another agent
    }
    emulator.faults().killInstance(thread.status().instanceId());
    ThreadEvent.TurnEnded ended = last(thread.until(ThreadEvent.TurnEnded.class), ThreadEvent.TurnEnded.class);
    assertEquals("failed", ended.outcome());
    assertTrue(ended.error().contains("gone"), ended.error());
    assertEquals("ready", thread.status().phase());
  }

  @Test
  void aTurnWhoseAgentIsLostBeforeItAnswersGoesToANewInstance() throws Exception {
    Thread thread = new Thread("echo");
    String lost = thread.status().instanceId();
    emulator.faults().stall(lost, Duration.ofMinutes(10)); // it will get the prompt and say nothing
    long resentBefore = ThreadMeters.get(testKit.system()).promptsResent();
    assertTrue(thread.startTurn("the lamp room").isSuccess());
    emulator.faults().killInstance(lost); // as if scaled to zero just before the turn came

    List<ThreadUpdate> updates = thread.until(ThreadEvent.TurnEnded.class);
    assertEquals("completed", last(updates, ThreadEvent.TurnEnded.class).outcome());
    ThreadEvent.InstanceReplaced replaced = updates.stream()
        .filter(ThreadUpdate.Persisted.class::isInstance)
        .map(u -> ((ThreadUpdate.Persisted) u).event())
        .filter(ThreadEvent.InstanceReplaced.class::isInstance).map(ThreadEvent.InstanceReplaced.class::cast)
        .findFirst().orElseThrow();
    assertTrue(!replaced.instanceId().equals(lost), "a new instance");
    List<Rows.Message> messages = thread.read(ThreadDatabase::messages);
    assertEquals(2, messages.size(), "the prompt once, its answer once: " + messages);
    assertTrue(messages.get(1).text().contains("the lamp room"), messages.toString());
    assertEquals(resentBefore + 1, ThreadMeters.get(testKit.system()).promptsResent(), "counted for operators");
  }

  @Test
  void aTurnWhoseLostAgentCannotBeStartedAgainFailsWithTheReason() throws Exception {
    // A node of its own: the refused calls open its Podium client's circuit breaker, not the other tests'.
    ActorTestKit node = ownNode(Map.of());
    try {
      Thread thread = new Thread(node, "echo");
      String lost = thread.status().instanceId();
      emulator.faults().stall(lost, Duration.ofMinutes(10));
      assertTrue(thread.startTurn("nobody home").isSuccess());
      emulator.faults().failRestCalls(1.0); // Podium refuses the new instance
      emulator.faults().killInstance(lost);
      ThreadEvent.TurnEnded ended = last(thread.until(ThreadEvent.TurnEnded.class), ThreadEvent.TurnEnded.class);
      assertEquals("failed", ended.outcome());
      assertTrue(ended.error().contains("could not be started again"), ended.error());
    } finally {
      emulator.faults().reset();
      node.shutdownTestKit();
    }
  }

  @Test
  void aTurnWhoseAgentGoesSilentFailsAfterTheSilenceTimeoutAndTheAgentIsToldToStop() throws Exception {
    ActorTestKit node = ownNode(Map.of("legato.thread.turn-silence-timeout", "1s"));
    try {
      Thread thread = new Thread(node, "coder");
      String instanceId = thread.status().instanceId();
      assertTrue(thread.startTurn("/slow /long 200").isSuccess());
      while (!(thread.updates.receiveMessage(TIMEOUT) instanceof ThreadUpdate.TextDelta)) {
        // until the agent has started answering
      }
      emulator.faults().stall(instanceId, Duration.ofMinutes(10)); // it goes on, but nothing reaches the thread
      ThreadEvent.TurnEnded ended = last(thread.until(ThreadEvent.TurnEnded.class), ThreadEvent.TurnEnded.class);
      assertEquals("failed", ended.outcome());
      assertTrue(ended.error().contains("said nothing"), ended.error());
      assertEquals("ready", thread.status().phase());
      emulator.faults().reset(); // the stalled frames (and the interrupt's answer) now flow: strays for a ready thread
      TestProbe<Object> poll = node.createTestProbe();
      poll.awaitAssert(TIMEOUT, () -> {
        assertTrue(emulator.framesReceived(instanceId).stream().anyMatch(f -> f.startsWith("interrupt ")),
            "the agent was told to stop: " + emulator.framesReceived(instanceId));
        return null;
      });
    } finally {
      emulator.faults().reset();
      node.shutdownTestKit();
    }
  }

  @Test
  void aSocketDroppedAfterTheAgentSpokeFailsTheTurnAtOnceWithTheReason() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/slow /long 200").isSuccess());
    while (!(thread.updates.receiveMessage(TIMEOUT) instanceof ThreadUpdate.TextDelta)) {
      // until the agent has started answering
    }
    long dropped = System.nanoTime();
    emulator.faults().dropSocket(thread.status().instanceId());
    ThreadEvent.TurnEnded ended = last(thread.until(ThreadEvent.TurnEnded.class), ThreadEvent.TurnEnded.class);
    assertEquals("failed", ended.outcome());
    assertTrue(ended.error().contains("dropped mid-turn"), ended.error());
    assertTrue(System.nanoTime() - dropped < Duration.ofSeconds(5).toNanos(), "not after the link gives up");
    thread.awaitLink("connected");
    assertTrue(thread.startTurn("after the drop").isSuccess());
    assertEquals("completed", last(thread.until(ThreadEvent.TurnEnded.class), ThreadEvent.TurnEnded.class).outcome());
  }

  @Test
  void anApprovalPendingWhenTheSocketDropsIsVoidAtOnce() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/run ls").isSuccess());
    thread.until(ThreadEvent.ApprovalRequested.class);
    emulator.faults().restLatency(Duration.ofSeconds(3)); // the link's "is the instance alive?" takes long
    try {
      emulator.faults().dropSocket(thread.status().instanceId());
      ThreadEvent.TurnEnded ended = last(thread.until(ThreadEvent.TurnEnded.class), ThreadEvent.TurnEnded.class);
      assertEquals("failed", ended.outcome(), "recorded before the link knows more");
      assertTrue(ended.error().contains("waited for the client"), ended.error());
      TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
      thread.entity.tell(new ThreadCommand.AnswerApproval("any", AgentCommand.Decision.ACCEPT, reply.getRef()));
      assertTrue(reply.receiveMessage(TIMEOUT).isError(), "nothing is pending any more");
    } finally {
      emulator.faults().reset();
    }
  }

  @Test
  void aTurnStartedJustAfterTheSocketDroppedWaitsForTheReconnectAndCompletes() throws Exception {
    Thread thread = new Thread("echo");
    for (int gapMs : new int[] {0, 5, 20, 50}) {
      thread.awaitLink("connected");
      emulator.faults().dropSocket(thread.status().instanceId());
      java.lang.Thread.sleep(gapMs);
      assertTrue(thread.startTurn("after a drop " + gapMs).isSuccess());
      ThreadEvent.TurnEnded ended = last(thread.until(ThreadEvent.TurnEnded.class), ThreadEvent.TurnEnded.class);
      assertEquals("completed", ended.outcome(), gapMs + " ms after the drop: " + ended.error());
    }
  }

  /** Another node on the same emulator, with a data folder and Podium client of its own. */
  static ActorTestKit ownNode(Map<String, String> overrides) throws Exception {
    Map<String, String> config = new java.util.HashMap<>(overrides);
    config.put("legato.storage.data-dir", Files.createTempDirectory("legato-own-node").toString());
    return ActorTestKit.create(ConfigFactory.parseMap(config).withFallback(testKit.system().settings().config()));
  }

  @Test
  void aThreadRestartedMidTurnRecordsTheTurnInterruptedAndIsReadyAgain() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/slow /long 200").isSuccess());
    thread.updates.receiveMessage(TIMEOUT); // TurnStarted is durable
    testKit.stop(thread.entity, TIMEOUT);

    ActorRef<ThreadCommand> again = testKit.spawn(ThreadEntity.create(thread.id));
    TestProbe<ThreadCommand.ThreadStatus> status = testKit.createTestProbe();
    status.awaitAssert(TIMEOUT, () -> {
      again.tell(new ThreadCommand.GetStatus(status.getRef()));
      assertEquals("ready", status.receiveMessage(TIMEOUT).phase());
      return null;
    });
    Rows.Turn turn = thread.read(ThreadDatabase::turns).get(0);
    assertEquals("interrupted", turn.status());
    assertTrue(turn.error().contains("restarted"), turn.error());
    again.tell(new ThreadCommand.GetStatus(status.getRef()));
    String instanceId = status.receiveMessage(TIMEOUT).instanceId();
    status.awaitAssert(TIMEOUT, () -> {
      assertTrue(emulator.framesReceived(instanceId).stream().anyMatch(f -> f.startsWith("interrupt ")),
          "the agent was told to stop the turn it lost: " + emulator.framesReceived(instanceId));
      return null;
    });
  }

  @Test
  void aTurnAfterTheInstanceIsGoneRespawnsTheAgentWithTheConversation() throws Exception {
    Thread thread = new Thread("echo");
    assertTrue(thread.startTurn("remember the lighthouse").isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);
    String firstInstance = thread.status().instanceId();
    emulator.faults().killInstance(firstInstance);
    TestProbe<ThreadCommand.ThreadStatus> status = testKit.createTestProbe();
    status.awaitAssert(TIMEOUT, () -> {
      thread.entity.tell(new ThreadCommand.GetStatus(status.getRef()));
      assertEquals("none", status.receiveMessage(TIMEOUT).link());
      return null;
    });

    assertTrue(thread.startTurn("/history").isSuccess());
    List<ThreadUpdate> updates = thread.until(ThreadEvent.TurnEnded.class);
    assertTrue(updates.stream().anyMatch(u -> u instanceof ThreadUpdate.Persisted p
        && p.event() instanceof ThreadEvent.InstanceReplaced), "a new instance was recorded");
    String answer = thread.read(ThreadDatabase::messages).stream().map(Rows.Message::text).reduce("", (a, b) -> b);
    assertTrue(answer.contains("remember the lighthouse"), "the new agent knows the conversation: " + answer);
    ThreadCommand.ThreadStatus now = thread.status();
    assertTrue(!now.instanceId().equals(firstInstance) && now.link().equals("connected"), now.toString());
  }

  @Test
  void aRespawnedAgentIsGivenTheThreadsMemories() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/remember editor=helix").isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);
    emulator.faults().killInstance(thread.status().instanceId());
    TestProbe<ThreadCommand.ThreadStatus> status = testKit.createTestProbe();
    status.awaitAssert(TIMEOUT, () -> {
      thread.entity.tell(new ThreadCommand.GetStatus(status.getRef()));
      assertEquals("none", status.receiveMessage(TIMEOUT).link());
      return null;
    });
    // The coder agent answers /recall like echo: it lists the memories its instance was created with.
    assertTrue(thread.startTurn("/recall").isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);
    String answer = thread.read(ThreadDatabase::messages).stream().map(Rows.Message::text).reduce("", (a, b) -> b);
    assertTrue(answer.contains("helix"), answer);
  }

  @Test
  void steeringReachesTheRunningAgent() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/slow /long 8 write it").isSuccess());
    thread.updates.receiveMessage(TIMEOUT); // TurnStarted
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.Steer("use tabs", reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);
    String answer = thread.read(ThreadDatabase::messages).get(1).text();
    assertTrue(answer.contains("use tabs"), answer);
    thread.entity.tell(new ThreadCommand.Steer("too late", reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isError(), "no turn to steer");
  }

  @Test
  void aQuestionWaitsForItsAnswerWhichTheAgentThenUses() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/ask which language").isSuccess());
    ThreadEvent.QuestionAsked asked = last(thread.until(ThreadEvent.QuestionAsked.class), ThreadEvent.QuestionAsked.class);
    assertEquals("waiting", thread.status().phase());
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.AnswerApproval(asked.requestId(), AgentCommand.Decision.ACCEPT, reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isError(), "a question is not an approval");
    String questionId = asked.questions().get(0).id();
    thread.entity.tell(new ThreadCommand.AnswerQuestion(asked.requestId(), Map.of(questionId, List.of("java")), false, reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);
    assertTrue(thread.read(ThreadDatabase::messages).get(1).text().contains("java"));
    assertTrue(thread.read(db -> db.approvals(false)).get(0).decision().contains("java"));
  }

  @Test
  void archiveUnarchiveAndDelete() throws Exception {
    Thread thread = new Thread("echo");
    assertTrue(thread.startTurn("keep this").isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);
    String archivedInstance = thread.status().instanceId();
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.Archive(reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isSuccess());
    assertEquals("none", thread.status().link(), "an archived thread lets its link go");
    TestProbe<Object> poll = testKit.createTestProbe();
    poll.awaitAssert(TIMEOUT, () -> {
      assertTrue(!emulator.instances().containsKey(archivedInstance)
          || emulator.instances().get(archivedInstance).equals("terminated"), "its agent is stopped on Podium");
      return null;
    });
    assertTrue(thread.startTurn("more").isError(), "no turns on an archived thread");
    assertEquals(List.of("keep this"), thread.read(ThreadDatabase::messages).stream()
        .filter(m -> m.role().equals("user")).map(Rows.Message::text).toList(), "its history stays");
    thread.entity.tell(new ThreadCommand.Unarchive(reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isSuccess());
    assertTrue(thread.startTurn("/history").isSuccess(), "unarchived: turns again");
    thread.until(ThreadEvent.TurnEnded.class);
    String instanceId = thread.status().instanceId();
    assertTrue(!instanceId.equals(archivedInstance), "a new agent for the unarchived thread");
    String answer = thread.read(ThreadDatabase::messages).stream().map(Rows.Message::text).reduce("", (a, b) -> b);
    assertTrue(answer.contains("keep this"), "the new agent was told the conversation: " + answer);

    Path folder = SessionStorage.get(testKit.system()).layout().threadDirectory(thread.id);
    assertTrue(Files.exists(folder));
    thread.entity.tell(new ThreadCommand.Delete(reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isSuccess());
    testKit.createTestProbe().expectTerminated(thread.entity, TIMEOUT);
    assertTrue(!Files.exists(folder), "its files are gone");
    assertTrue(!emulator.instances().containsKey(instanceId) || emulator.instances().get(instanceId).equals("terminated"),
        "its Podium instance is deleted");
  }

  @Test
  void everythingTheAgentDoesIsRecordedOnTheReadSide() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/think /plan read; write /tool /remember lang=java /summarize /run echo hi").isSuccess());
    ThreadEvent.ApprovalRequested request = last(thread.until(ThreadEvent.ApprovalRequested.class), ThreadEvent.ApprovalRequested.class);
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.AnswerApproval(request.requestId(), AgentCommand.Decision.ACCEPT, reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isSuccess());
    List<ThreadUpdate> updates = thread.until(ThreadEvent.TurnEnded.class);
    assertTrue(updates.stream().anyMatch(ThreadUpdate.CommandOutputDelta.class::isInstance), "command output streamed");
    assertTrue(thread.startTurn("/edit src/App.java").isSuccess());
    request = last(thread.until(ThreadEvent.ApprovalRequested.class), ThreadEvent.ApprovalRequested.class);
    thread.entity.tell(new ThreadCommand.AnswerApproval(request.requestId(), AgentCommand.Decision.ACCEPT, reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);

    List<String> kinds = thread.read(ThreadDatabase::elements).stream().map(Rows.Element::kind).distinct().sorted().toList();
    assertEquals(List.of("agentMessage", "commandExecution", "fileChange", "reasoning", "toolCall"), kinds);
    Rows.Element command = thread.read(ThreadDatabase::elements).stream().filter(e -> e.kind().equals("commandExecution")).findFirst().orElseThrow();
    assertTrue(command.payload().contains("hi"), command.payload());
    String secondTurn = thread.read(ThreadDatabase::turns).get(1).turnId();
    Rows.Diff diff = thread.read(db -> db.diffs(secondTurn)).get(0);
    assertEquals("src/App.java", diff.path());
    assertTrue(diff.diff().contains("@@"), diff.diff());
    String firstTurn = thread.read(ThreadDatabase::turns).get(0).turnId();
    assertTrue(thread.read(db -> db.plans(firstTurn)).get(0).steps().contains("read"));
    assertEquals("java", thread.read(ThreadDatabase::memories).get(0).value());
    assertEquals(1, thread.read(ThreadDatabase::summaries).size());
  }

  @Test
  void subscribersWithCursorsGetTheHistoryAfterItThenLiveUpdatesExactlyOnce() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("first").isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);
    assertTrue(thread.startTurn("/run echo second").isSuccess());
    List<ThreadUpdate> seen = thread.until(ThreadEvent.ApprovalRequested.class);
    long requestSeq = ((ThreadUpdate.Persisted) seen.get(seen.size() - 1)).sequenceNr();

    // One joins from the start, one from the middle, while the turn waits for approval.
    TestProbe<ThreadUpdate> fromStart = testKit.createTestProbe();
    TestProbe<ThreadUpdate> fromMiddle = testKit.createTestProbe();
    TestProbe<StatusReply<Done>> ack = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.Subscribe(fromStart.getRef(), 0L, ack.getRef()));
    thread.entity.tell(new ThreadCommand.Subscribe(fromMiddle.getRef(), 3L, ack.getRef()));
    ack.receiveMessage(TIMEOUT);
    ack.receiveMessage(TIMEOUT);
    ThreadEvent.ApprovalRequested request = (ThreadEvent.ApprovalRequested) ((ThreadUpdate.Persisted) seen.get(seen.size() - 1)).event();

    // Each gets its replay and then the pending approval offered again.
    Map<TestProbe<ThreadUpdate>, List<Long>> seqs = new java.util.HashMap<>();
    for (TestProbe<ThreadUpdate> probe : List.of(fromStart, fromMiddle)) {
      List<Long> numbers = new ArrayList<>();
      while (true) {
        ThreadUpdate update = probe.receiveMessage(TIMEOUT);
        if (update instanceof ThreadUpdate.PendingRequest pending) {
          assertEquals(request.requestId(), pending.request().requestId());
          break;
        }
        if (update instanceof ThreadUpdate.Live) {
          continue;
        }
        numbers.add(((ThreadUpdate.Persisted) update).sequenceNr());
      }
      seqs.put(probe, numbers);
    }
    thread.entity.tell(new ThreadCommand.AnswerApproval(request.requestId(), AgentCommand.Decision.ACCEPT, ack.getRef()));
    assertTrue(ack.receiveMessage(TIMEOUT).isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);

    // ... then the live rest of the turn: together, in order, no gap, no duplicate.
    for (TestProbe<ThreadUpdate> probe : List.of(fromStart, fromMiddle)) {
      List<Long> numbers = seqs.get(probe);
      while (true) {
        ThreadUpdate update = probe.receiveMessage(TIMEOUT);
        if (update instanceof ThreadUpdate.Persisted persisted) {
          numbers.add(persisted.sequenceNr());
          if (persisted.event() instanceof ThreadEvent.TurnEnded) {
            break;
          }
        }
      }
      long first = probe == fromStart ? 1 : 4;
      for (int i = 0; i < numbers.size(); i++) {
        assertEquals(first + i, numbers.get(i), "in order, no gap, no duplicate: " + numbers);
      }
      assertTrue(numbers.get(numbers.size() - 1) > requestSeq);
    }
  }

  @Test
  void anIdleThreadStopsAndTheNextMessageBringsItBack() throws Exception {
    UUID id = UUID.randomUUID();
    ActorRef<ThreadCommand> entity = testKit.spawn(ThreadEntity.create(id));
    TestProbe<StatusReply<ThreadCommand.Created>> created = testKit.createTestProbe();
    entity.tell(new ThreadCommand.Create("echo", null, null, created.getRef()));
    String instanceId = created.receiveMessage(TIMEOUT).getValue().instanceId();
    testKit.createTestProbe().expectTerminated(entity, Duration.ofSeconds(10)); // no turn, no subscriber: passivated

    ActorRef<ThreadCommand> revived = testKit.spawn(ThreadEntity.create(id));
    TestProbe<StatusReply<ThreadCommand.TurnAccepted>> accepted = testKit.createTestProbe();
    revived.tell(new ThreadCommand.StartTurn("after a nap", accepted.getRef()));
    assertTrue(accepted.receiveMessage(TIMEOUT).isSuccess());
    TestProbe<ThreadCommand.ThreadStatus> status = testKit.createTestProbe();
    status.awaitAssert(TIMEOUT, () -> {
      revived.tell(new ThreadCommand.GetStatus(status.getRef()));
      assertEquals("ready", status.receiveMessage(TIMEOUT).phase());
      return null;
    });
    revived.tell(new ThreadCommand.GetStatus(status.getRef()));
    assertEquals(instanceId, status.receiveMessage(TIMEOUT).instanceId(), "its instance still ran: reconnected");
    List<Rows.Message> messages = SessionStorage.get(testKit.system()).readThread(id, ThreadDatabase::messages)
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
    assertTrue(messages.get(messages.size() - 1).text().contains("after a nap"));
  }

  @Test
  void aQuietThreadLetsItsLinkGoAndTheNextTurnReconnectsToTheSameInstance() throws Exception {
    Thread thread = new Thread("echo");
    String instanceId = thread.status().instanceId();
    thread.awaitLink("none"); // close-link-after, although a subscriber is there
    assertTrue(thread.startTurn("still there?").isSuccess());
    assertEquals("completed", last(thread.until(ThreadEvent.TurnEnded.class), ThreadEvent.TurnEnded.class).outcome());
    assertEquals(instanceId, thread.status().instanceId(), "the instance still ran: reconnected, not re-spawned");
  }

  @Test
  void resumeReconnectsToALiveInstanceAndRepliesWithTheWholeHistory() throws Exception {
    Thread thread = new Thread("echo");
    assertTrue(thread.startTurn("a turn to remember").isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);
    String instanceId = thread.status().instanceId();
    thread.awaitLink("none");

    ThreadCommand.Resumed resumed = thread.resume();
    List<Object> kinds = resumed.history().stream().map(p -> (Object) p.event().getClass()).toList();
    assertEquals(ThreadEvent.ThreadCreated.class, kinds.get(0));
    assertTrue(kinds.containsAll(List.of(ThreadEvent.TurnStarted.class, ThreadEvent.AgentMessage.class,
        ThreadEvent.TurnEnded.class)), kinds.toString());
    for (int i = 0; i < resumed.history().size(); i++) {
      assertEquals(i + 1, resumed.history().get(i).sequenceNr(), "the whole history, in order");
    }
    assertEquals("ready", resumed.status().phase());
    assertEquals(instanceId, resumed.status().instanceId());
    assertTrue(!resumed.status().link().equals("none"), "the link is back: " + resumed.status());
  }

  @Test
  void resumeRespawnsAGoneInstanceHydratedWithTheConversation() throws Exception {
    Thread thread = new Thread("echo");
    assertTrue(thread.startTurn("the password is heron").isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);
    String firstInstance = thread.status().instanceId();
    emulator.faults().killInstance(firstInstance);
    thread.awaitLink("none");

    ThreadCommand.Resumed resumed = thread.resume();
    ThreadEvent lastEvent = resumed.history().get(resumed.history().size() - 1).event();
    assertTrue(lastEvent instanceof ThreadEvent.InstanceReplaced, "the new instance is part of the history: " + lastEvent);
    assertTrue(!resumed.status().instanceId().equals(firstInstance));

    assertTrue(thread.startTurn("/history").isSuccess());
    thread.until(ThreadEvent.TurnEnded.class);
    String answer = thread.read(ThreadDatabase::messages).stream().map(Rows.Message::text).reduce("", (a, b) -> b);
    assertTrue(answer.contains("the password is heron"), "the new agent knows the conversation: " + answer);
  }

  @Test
  void resumeOfAThreadNeverStartedIsRefused() {
    TestProbe<StatusReply<ThreadCommand.Resumed>> reply = testKit.createTestProbe();
    testKit.spawn(ThreadEntity.create(UUID.randomUUID())).tell(new ThreadCommand.Resume(reply.getRef()));
    assertTrue(reply.receiveMessage(TIMEOUT).isError());
  }

  @Test
  void streamingTextIsDurableInWindowsBeforeTheMessageCompletes() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/slow /long 30 windows").isSuccess());
    List<ThreadUpdate> seen = thread.until(ThreadEvent.AgentMessageDelta.class);
    assertTrue(seen.stream().noneMatch(u -> u instanceof ThreadUpdate.Persisted p
        && p.event() instanceof ThreadEvent.AgentMessage), "the message is still streaming");
    String durable = thread.read(db -> db.messages().stream().filter(m -> m.role().equals("assistant"))
        .map(Rows.Message::text).findFirst().orElse(""));
    assertTrue(!durable.isEmpty(), "a window of the answer is on the read side already");

    List<ThreadUpdate> rest = thread.until(ThreadEvent.TurnEnded.class);
    StringBuilder streamed = new StringBuilder();
    for (List<ThreadUpdate> part : List.of(seen, rest)) {
      part.stream().filter(ThreadUpdate.TextDelta.class::isInstance)
          .forEach(u -> streamed.append(((ThreadUpdate.TextDelta) u).text()));
    }
    String whole = thread.read(ThreadDatabase::messages).get(1).text();
    assertEquals(streamed.toString(), whole, "the whole message replaces its windows");
    assertTrue(whole.startsWith(durable));
  }

  @Test
  void aSubscriberJoiningMidMessageGetsTheTextSoFarThenTheRestExactlyOnce() throws Exception {
    Thread thread = new Thread("coder");
    assertTrue(thread.startTurn("/slow /long 24 join me").isSuccess());
    thread.until(ThreadEvent.AgentMessageDelta.class); // some text is durable, more is streaming
    thread.updates.expectMessageClass(ThreadUpdate.TextDelta.class, TIMEOUT);

    TestProbe<ThreadUpdate> late = testKit.createTestProbe();
    TestProbe<StatusReply<Done>> ack = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.Subscribe(late.getRef(), 0L, ack.getRef()));
    assertTrue(ack.receiveMessage(TIMEOUT).isSuccess());

    // History: windows of text are the news; live: deltas are, their windows repeat them.
    StringBuilder text = new StringBuilder();
    boolean live = false;
    String whole = null;
    while (whole == null) {
      ThreadUpdate update = late.receiveMessage(TIMEOUT);
      if (update instanceof ThreadUpdate.Live) {
        live = true;
      } else if (update instanceof ThreadUpdate.TextDelta delta) {
        assertTrue(live, "deltas come after the history");
        text.append(delta.text());
      } else if (update instanceof ThreadUpdate.Persisted p) {
        if (p.event() instanceof ThreadEvent.AgentMessageDelta window && !live) {
          text.append(window.text());
        } else if (p.event() instanceof ThreadEvent.AgentMessage message) {
          whole = message.text();
        }
      }
    }
    assertEquals(whole, text.toString(), "no text missed, none twice");
  }

  @Test
  void aThreadStartedWithoutWaitingForItsAgentGetsItRightAfterAndTakesATurnAtOnce() throws Exception {
    UUID id = UUID.randomUUID();
    ActorRef<ThreadCommand> entity = testKit.spawn(ThreadEntity.create(id));
    TestProbe<StatusReply<ThreadCommand.Created>> created = testKit.createTestProbe();
    entity.tell(new ThreadCommand.Create("echo", "/work", null, null, false, created.getRef()));
    ThreadCommand.Created started = created.receiveMessage(TIMEOUT).getValue();
    assertEquals(null, started.instanceId(), "reported before Podium was asked for an instance");

    // A turn asked at once waits for the agent, then runs.
    TestProbe<StatusReply<ThreadCommand.TurnAccepted>> accepted = testKit.createTestProbe();
    entity.tell(new ThreadCommand.StartTurn("right away", accepted.getRef()));
    assertTrue(accepted.receiveMessage(TIMEOUT).isSuccess());
    TestProbe<ThreadCommand.ThreadStatus> status = testKit.createTestProbe();
    status.awaitAssert(TIMEOUT, () -> {
      entity.tell(new ThreadCommand.GetStatus(status.getRef()));
      ThreadCommand.ThreadStatus now = status.receiveMessage(TIMEOUT);
      assertEquals("ready", now.phase());
      assertTrue(now.instanceId() != null, "the thread has its instance now");
      return null;
    });
    List<Rows.Message> messages = SessionStorage.get(testKit.system()).readThread(id, ThreadDatabase::messages)
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
    assertTrue(messages.get(messages.size() - 1).text().contains("right away"), messages.toString());
  }

  @Test
  void aThreadStartedWithoutItsAgentStartsItOnItsOwnShortlyAfter() {
    UUID id = UUID.randomUUID();
    ActorRef<ThreadCommand> entity = testKit.spawn(ThreadEntity.create(id));
    TestProbe<StatusReply<ThreadCommand.Created>> created = testKit.createTestProbe();
    entity.tell(new ThreadCommand.Create("echo", "/work", null, null, false, created.getRef()));
    assertEquals(null, created.receiveMessage(TIMEOUT).getValue().instanceId());

    TestProbe<ThreadCommand.ThreadStatus> status = testKit.createTestProbe();
    status.awaitAssert(TIMEOUT, () -> { // no turn, no resume: legato.thread.start-agent-after (10 ms) does it
      entity.tell(new ThreadCommand.GetStatus(status.getRef()));
      ThreadCommand.ThreadStatus now = status.receiveMessage(TIMEOUT);
      assertTrue(now.instanceId() != null, "the thread has its instance");
      assertEquals("connected", now.link());
      return null;
    });
  }

  @Test
  void aTurnDoesNotWaitForTheAgentsDelayedStart() throws Exception {
    ActorTestKit patient = ownNode(Map.of("legato.thread.start-agent-after", "1h"));
    try {
      ActorRef<ThreadCommand> entity = patient.spawn(ThreadEntity.create(UUID.randomUUID()));
      TestProbe<StatusReply<ThreadCommand.Created>> created = patient.createTestProbe();
      entity.tell(new ThreadCommand.Create("echo", "/work", null, null, false, created.getRef()));
      assertTrue(created.receiveMessage(TIMEOUT).isSuccess());
      TestProbe<ThreadCommand.ThreadStatus> status = patient.createTestProbe();
      entity.tell(new ThreadCommand.GetStatus(status.getRef()));
      assertEquals(null, status.receiveMessage(TIMEOUT).instanceId(), "the agent waits for its hour");

      TestProbe<StatusReply<ThreadCommand.TurnAccepted>> accepted = patient.createTestProbe();
      entity.tell(new ThreadCommand.StartTurn("now", accepted.getRef()));
      assertTrue(accepted.receiveMessage(TIMEOUT).isSuccess(), "the turn started the agent itself");
      entity.tell(new ThreadCommand.GetStatus(status.getRef()));
      assertTrue(status.receiveMessage(TIMEOUT).instanceId() != null);
    } finally {
      patient.shutdownTestKit();
    }
  }

  @Test
  void aThreadWhoseAgentCannotBeCreatedSaysSoAtItsFirstTurn() throws Exception {
    UUID id = UUID.randomUUID();
    ActorRef<ThreadCommand> entity = testKit.spawn(ThreadEntity.create(id));
    TestProbe<StatusReply<ThreadCommand.Created>> created = testKit.createTestProbe();
    emulator.faults().failRestCalls(1.0); // Podium refuses from now on (the deployment is already known)
    try {
      entity.tell(new ThreadCommand.Create("echo", null, null, null, false, created.getRef()));
      assertTrue(created.receiveMessage(TIMEOUT).isSuccess(), "started: the deployment was known");
      TestProbe<StatusReply<ThreadCommand.TurnAccepted>> accepted = testKit.createTestProbe();
      entity.tell(new ThreadCommand.StartTurn("hello?", accepted.getRef()));
      StatusReply<ThreadCommand.TurnAccepted> refused = accepted.receiveMessage(Duration.ofSeconds(30));
      assertTrue(refused.isError(), "the turn is refused with the reason");
      assertTrue(refused.getError().getMessage().contains("could not be started"), refused.getError().getMessage());
    } finally {
      emulator.faults().reset();
    }
  }

  @Test
  void illegalCommandsAreRefusedAndChangeNothing() throws Exception {
    UUID id = UUID.randomUUID();
    ActorRef<ThreadCommand> fresh = testKit.spawn(ThreadEntity.create(id));
    TestProbe<StatusReply<ThreadCommand.TurnAccepted>> turn = testKit.createTestProbe();
    fresh.tell(new ThreadCommand.StartTurn("hi", turn.getRef()));
    assertTrue(turn.receiveMessage(TIMEOUT).isError(), "no turn before the thread is started");

    TestProbe<StatusReply<ThreadCommand.Created>> created = testKit.createTestProbe();
    fresh.tell(new ThreadCommand.Create("no-such-agent", null, null, created.getRef()));
    StatusReply<ThreadCommand.Created> failed = created.receiveMessage(TIMEOUT);
    assertTrue(failed.isError());
    assertTrue(failed.getError().getMessage().contains("no-such-agent"), failed.getError().getMessage());

    Thread thread = new Thread("echo");
    TestProbe<StatusReply<ThreadCommand.Created>> again = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.Create("echo", null, null, again.getRef()));
    assertTrue(again.receiveMessage(TIMEOUT).isError(), "a thread is created once");
    assertTrue(thread.startTurn("   ").isError(), "a turn needs text");
    TestProbe<StatusReply<Done>> interrupt = testKit.createTestProbe();
    thread.entity.tell(new ThreadCommand.Interrupt(interrupt.getRef()));
    assertTrue(interrupt.receiveMessage(TIMEOUT).isError(), "nothing to interrupt");
    assertEquals("ready", thread.status().phase());
    assertEquals(List.of(), thread.read(ThreadDatabase::turns));
  }
}
