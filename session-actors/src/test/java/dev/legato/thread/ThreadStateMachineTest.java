package dev.legato.thread;

import com.typesafe.config.ConfigFactory;
import dev.legato.podium.AgentCommand;
import dev.legato.podium.AgentEvent;
import dev.legato.podium.PodiumLink;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import dev.legato.thread.ThreadCommand.AnswerApproval;
import dev.legato.thread.ThreadCommand.AnswerQuestion;
import dev.legato.thread.ThreadCommand.Archive;
import dev.legato.thread.ThreadCommand.Create;
import dev.legato.thread.ThreadCommand.Created;
import dev.legato.thread.ThreadCommand.Delete;
import dev.legato.thread.ThreadCommand.GetStatus;
import dev.legato.thread.ThreadCommand.Interrupt;
import dev.legato.thread.ThreadCommand.StartTurn;
import dev.legato.thread.ThreadCommand.Steer;
import dev.legato.thread.ThreadCommand.Subscribe;
import dev.legato.thread.ThreadCommand.ThreadStatus;
import dev.legato.thread.ThreadCommand.TurnAccepted;
import dev.legato.thread.ThreadCommand.Unarchive;
import dev.legato.thread.Signal.FromLink;
import dev.legato.thread.ThreadEvent.AgentMessage;
import dev.legato.thread.ThreadEvent.AgentMessageDelta;
import dev.legato.thread.ThreadEvent.ApprovalDecided;
import dev.legato.thread.ThreadEvent.ApprovalRequested;
import dev.legato.thread.ThreadEvent.Archived;
import dev.legato.thread.ThreadEvent.CommandCompleted;
import dev.legato.thread.ThreadEvent.InstanceReplaced;
import dev.legato.thread.ThreadEvent.Question;
import dev.legato.thread.ThreadEvent.QuestionAnswered;
import dev.legato.thread.ThreadEvent.QuestionAsked;
import dev.legato.thread.ThreadEvent.ReasoningRecorded;
import dev.legato.thread.ThreadEvent.ThreadCreated;
import dev.legato.thread.ThreadEvent.ToolCallRecorded;
import dev.legato.thread.ThreadEvent.TurnEnded;
import dev.legato.thread.ThreadEvent.TurnStarted;
import dev.legato.thread.ThreadEvent.Unarchived;
import dev.legato.thread.ThreadState.New;
import dev.legato.thread.ThreadState.Ready;
import dev.legato.thread.ThreadState.Running;
import dev.legato.thread.ThreadState.Waiting;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResult;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The thread's state machine, command by command: every transition, every refusal (an error reply, no
 * event, the state as it was) and recovery from every state, with commands, events and state serialized.
 *
 * <p>The thread talks to a real Podium (the emulator): it creates a real instance and its link really
 * connects. The test plays the agent by handing the entity link batches itself ({@link FromLink}); the
 * real agent is kept quiet by stalling its instance's socket right after creation, so whatever it answers
 * to a turn is held back by the emulator for longer than any test runs and never races the injected frames.
 */
class ThreadStateMachineTest {
  static final Duration TIMEOUT = Duration.ofSeconds(10);
  /** Longer than the whole class runs: the real agent's frames are held back until the emulator stops. */
  static final Duration QUIET = Duration.ofMinutes(30);

  static PodiumEmulator emulator;
  static ActorTestKit testKit;
  static SerializationTestKit serialization;

  @BeforeAll
  static void start() throws Exception {
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    testKit = ActorTestKit.create(EventSourcedBehaviorTestKit.config()
        .withFallback(ConfigFactory.parseMap(Map.of(
            "legato.storage.data-dir", Files.createTempDirectory("legato-state-machine").toString(),
            "legato.podium.url", emulator.baseUrl())))
        .withFallback(ConfigFactory.parseString("""
            pekko.loglevel = WARNING
            # a reply may wait for a Podium call or the link; a busy machine is slower than the default 3 s
            pekko.actor.testkit.typed.single-expect-default = 10s
            """))
        .withFallback(ConfigFactory.load()));
    serialization = new SerializationTestKit(testKit.system());
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    emulator.stop();
  }

  final UUID id = UUID.randomUUID();
  /**
   * Events and state are verified by the testkit. Commands are verified by {@link #checked} instead: the link's
   * reports ({@link FromLink}) are local by nature (they carry the adapter's decoded frames, which are not
   * {@code CborSerializable}) and never cross nodes, so they are the one kind the testkit must not check.
   */
  final EventSourcedBehaviorTestKit<ThreadCommand, ThreadEvent, ThreadState> thread = EventSourcedBehaviorTestKit.create(
      testKit.system(), ThreadEntity.create(id),
      EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyCommands(false));
  final TestProbe<PodiumLink.Ack> acks = testKit.createTestProbe();

  // ---- the client's commands -----------------------------------------------------------------------------

  static <C extends ThreadCommand> C checked(C command) {
    return serialization.verifySerialization(command, true);
  }

  CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, StatusReply<Created>> create(String agentType) {
    return thread.runCommand(replyTo -> checked(new Create(agentType, "/work", null, replyTo)));
  }

  CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, StatusReply<TurnAccepted>> startTurn(String text) {
    return thread.runCommand(replyTo -> checked(new StartTurn(text, replyTo)));
  }

  CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, StatusReply<Done>> answerApproval(
      String requestId, AgentCommand.Decision decision) {
    return thread.runCommand(replyTo -> checked(new AnswerApproval(requestId, decision, replyTo)));
  }

  CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, StatusReply<Done>> answerQuestion(
      String requestId, Map<String, List<String>> answers, boolean dismissed) {
    return thread.runCommand(replyTo -> checked(new AnswerQuestion(requestId, answers, dismissed, replyTo)));
  }

  CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, StatusReply<Done>> steer(String text) {
    return thread.runCommand(replyTo -> checked(new Steer(text, replyTo)));
  }

  CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, StatusReply<Done>> interrupt() {
    return thread.runCommand(replyTo -> checked(new Interrupt(replyTo)));
  }

  CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, StatusReply<Done>> archive() {
    return thread.runCommand(replyTo -> checked(new Archive(replyTo)));
  }

  CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, StatusReply<Done>> unarchive() {
    return thread.runCommand(replyTo -> checked(new Unarchive(replyTo)));
  }

  CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, StatusReply<Done>> delete() {
    return thread.runCommand(replyTo -> checked(new Delete(replyTo)));
  }

  ThreadStatus status() {
    return thread.<ThreadStatus>runCommand(replyTo -> checked(new GetStatus(replyTo))).reply();
  }

  // ---- the agent's side ----------------------------------------------------------------------------------

  /** One batch of frames from the link; the entity acknowledges every batch, persisted or not. */
  CommandResult<ThreadCommand, ThreadEvent, ThreadState> agent(AgentEvent... events) {
    CommandResult<ThreadCommand, ThreadEvent, ThreadState> result =
        thread.runCommand(new FromLink(new PodiumLink.Events(List.of(events), acks.getRef())));
    acks.expectMessage(TIMEOUT, PodiumLink.Ack.INSTANCE);
    return result;
  }

  CommandResult<ThreadCommand, ThreadEvent, ThreadState> link(PodiumLink.LinkState state) {
    return thread.runCommand(new FromLink(new PodiumLink.StateChanged(state)));
  }

  static AgentEvent.PermissionRequested permission(String requestId) {
    return new AgentEvent.PermissionRequested(requestId, "call_1", AgentEvent.PermissionKind.COMMAND, "ls -la", "/work",
        "list the files", null);
  }

  static AgentEvent.QuestionRequested question(String requestId) {
    return new AgentEvent.QuestionRequested(requestId,
        List.of(new AgentEvent.Question("q1", "Language", "Which language?", List.of("java", "scala"))));
  }

  static AgentEvent.MessageCompleted completed(String stopReason) {
    return new AgentEvent.MessageCompleted("m", new AgentEvent.Usage(12, 34, null, null), stopReason);
  }

  // ---- getting to a state --------------------------------------------------------------------------------

  /** A created thread whose link is connected to its real, stalled instance. */
  Ready ready() {
    StatusReply<Created> created = create("echo").reply();
    assertTrue(created.isSuccess(), () -> String.valueOf(created.getError()));
    assertTrue(emulator.faults().stall(created.getValue().instanceId(), QUIET));
    awaitLink("connected");
    return (Ready) thread.getState();
  }

  Running running() {
    ready();
    StatusReply<TurnAccepted> accepted = startTurn("write the tests").reply();
    assertTrue(accepted.isSuccess(), () -> String.valueOf(accepted.getError()));
    return (Running) thread.getState();
  }

  Waiting waitingForApproval() {
    running();
    return assertInstanceOf(Waiting.class, agent(permission("req_1")).state());
  }

  Waiting waitingForQuestion() {
    running();
    return assertInstanceOf(Waiting.class, agent(question("req_q")).state());
  }

  Ready archived() {
    ready();
    assertTrue(archive().reply().isSuccess());
    return (Ready) thread.getState();
  }

  void awaitLink(String expected) {
    testKit.createTestProbe().awaitAssert(TIMEOUT, () -> {
      assertEquals(expected, status().link());
      return null;
    });
  }

  /** An error reply, no event and the state as it was. */
  <R extends StatusReply<?>> void assertRefused(
      Supplier<CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, R>> command, String because) {
    ThreadState before = thread.getState();
    CommandResultWithReply<ThreadCommand, ThreadEvent, ThreadState, R> result = command.get();
    assertTrue(result.reply().isError(), () -> "refused: " + result.reply());
    String message = result.reply().getError().getMessage();
    assertTrue(message.contains(because), () -> "'" + message + "' should say '" + because + "'");
    assertTrue(result.hasNoEvents(), () -> "nothing persisted: " + result.events());
    assertEquals(before, result.state());
    assertEquals(before, thread.getState());
  }

  // ==== transitions ========================================================================================

  @Test
  void createStartsTheAgentAndMakesTheThreadReady() {
    assertInstanceOf(New.class, thread.getState());
    assertEquals(new ThreadStatus("new", null, null, null, "none"), status());

    var result = create("echo");
    Created created = result.reply().getValue();
    assertEquals(id, created.threadId());
    ThreadCreated event = result.eventOfType(ThreadCreated.class);
    assertEquals("echo", event.agentType());
    assertTrue(event.deploymentId().startsWith("echo:1.10.0@"), event.deploymentId());
    assertEquals(created.instanceId(), event.instanceId());
    assertEquals("/work", event.cwd());
    assertNull(event.tenant());
    assertEquals(1, result.events().size());
    assertEquals(new Ready(new ThreadState.ThreadInfo("echo", event.deploymentId(), created.instanceId(), "/work", null,
        event.at(), false)), result.state());
    assertTrue(emulator.instances().containsKey(created.instanceId()), "a real Podium instance");
    awaitLink("connected");
    assertEquals(new ThreadStatus("ready", null, null, created.instanceId(), "connected"), status());
  }

  @Test
  void startTurnInReadyRunsATurn() {
    Ready ready = ready();
    var result = startTurn("write the tests");
    String turnId = result.reply().getValue().turnId();
    TurnStarted started = result.eventOfType(TurnStarted.class);
    assertEquals(1, result.events().size());
    assertEquals(turnId, started.turnId());
    assertEquals("write the tests", started.text());
    assertTrue(started.messageId().startsWith("msg_"), started.messageId());
    assertEquals(new Running(ready.info(), new ThreadState.Turn(turnId, started.messageId(), started.at())),
        result.state());
    assertEquals(new ThreadStatus("running", turnId, null, ready.info().instanceId(), "connected"), status());
  }

  @Test
  void theRealAgentIsHeldBackSoOnlyTheTestPlaysIt() throws Exception {
    Running running = running();
    int stored = thread.persistenceTestKit().persistedInStorage(persistenceId()).size();
    Thread.sleep(500); // unstalled, the echo agent would have answered and ended the turn by now
    assertEquals(stored, thread.persistenceTestKit().persistedInStorage(persistenceId()).size());
    assertEquals(running, thread.getState());
  }

  @Test
  void anApprovalRequestPutsTheTurnInWaiting() {
    Running running = running();
    var result = agent(permission("req_1"));
    ApprovalRequested requested = result.eventOfType(ApprovalRequested.class);
    assertEquals(1, result.events().size());
    assertEquals(running.turn().turnId(), requested.turnId());
    assertEquals("req_1", requested.requestId());
    assertEquals("command", requested.kind());
    assertEquals("ls -la", requested.command());
    assertEquals("/work", requested.cwd());
    assertEquals("list the files", requested.reason());
    assertEquals(new Waiting(running.info(), running.turn(), requested), result.state());
    assertEquals("waiting", status().phase());
    assertEquals("req_1", status().pendingRequestId());
  }

  @Test
  void aFileChangeApprovalKeepsItsKind() {
    running();
    var result = agent(new AgentEvent.PermissionRequested("req_2", "call_2", AgentEvent.PermissionKind.FILE_CHANGE,
        null, null, "edit src/App.java", "{\"path\":\"src/App.java\"}"));
    assertEquals("file_change", result.eventOfType(ApprovalRequested.class).kind());
  }

  @Test
  void aSecondRequestWhileOneIsPendingIsNotRecorded() {
    running();
    var result = agent(permission("req_1"), permission("req_2"), question("req_3"));
    assertEquals(1, result.events().size(), () -> result.events().toString());
    assertEquals("req_1", ((Waiting) result.state()).request().requestId());
  }

  @ParameterizedTest
  @CsvSource({"ACCEPT, accept", "ACCEPT_FOR_SESSION, acceptForSession", "DECLINE, decline", "CANCEL, cancel"})
  void answeringTheApprovalResumesTheTurn(AgentCommand.Decision decision, String recorded) {
    Waiting waiting = waitingForApproval();
    var result = answerApproval("req_1", decision);
    assertTrue(result.reply().isSuccess());
    ApprovalDecided decided = result.eventOfType(ApprovalDecided.class);
    assertEquals(1, result.events().size());
    assertEquals(waiting.request(), decided.request());
    assertEquals(recorded, decided.decision());
    assertEquals(new Running(waiting.info(), waiting.turn()), result.state());
  }

  @Test
  void aQuestionWaitsForItsAnswer() {
    Running running = running();
    var asked = agent(question("req_q"));
    QuestionAsked question = asked.eventOfType(QuestionAsked.class);
    assertEquals(running.turn().turnId(), question.turnId());
    assertEquals(List.of(new Question("q1", "Language", "Which language?", List.of("java", "scala"))),
        question.questions());
    assertEquals(new Waiting(running.info(), running.turn(), question), asked.state());

    var answered = answerQuestion("req_q", Map.of("q1", List.of("java")), false);
    assertTrue(answered.reply().isSuccess());
    QuestionAnswered answer = answered.eventOfType(QuestionAnswered.class);
    assertEquals(question, answer.question());
    assertEquals(Map.of("q1", List.of("java")), answer.answers());
    assertFalse(answer.dismissed());
    assertEquals(running, answered.state());
  }

  @Test
  void aDismissedQuestionIsRecordedWithoutAnswers() {
    Running running = running();
    agent(question("req_q"));
    var answered = answerQuestion("req_q", Map.of("q1", List.of("ignored")), true);
    QuestionAnswered answer = answered.eventOfType(QuestionAnswered.class);
    assertTrue(answer.dismissed());
    assertEquals(Map.of(), answer.answers());
    assertEquals(running, answered.state());
  }

  @Test
  void aCompletedMessageEndsTheTurnWithItsUsage() {
    Running running = running();
    var result = agent(completed("end_turn"));
    TurnEnded ended = result.eventOfType(TurnEnded.class);
    assertEquals(1, result.events().size());
    assertEquals(running.turn().turnId(), ended.turnId());
    assertEquals("completed", ended.outcome());
    assertNull(ended.error());
    assertEquals(running.turn().startedAt(), ended.startedAt());
    assertEquals(12, ended.inputTokens());
    assertEquals(34, ended.outputTokens());
    assertEquals(new Ready(running.info()), result.state());
    assertEquals("ready", status().phase());
  }

  @Test
  void aMessageInterruptedByTheAgentEndsTheTurnInterrupted() {
    Running running = running();
    var result = agent(completed("interrupted"));
    assertEquals("interrupted", result.eventOfType(TurnEnded.class).outcome());
    assertEquals(new Ready(running.info()), result.state());
  }

  @Test
  void aFailedMessageEndsTheTurnFailed() {
    Running running = running();
    var result = agent(new AgentEvent.Failed("the model is overloaded", "agent_error", false));
    TurnEnded ended = result.eventOfType(TurnEnded.class);
    assertEquals("failed", ended.outcome());
    assertEquals("the model is overloaded", ended.error());
    assertEquals(new Ready(running.info()), result.state());
  }

  @Test
  void aWaitingTurnCanEndToo() {
    Waiting waiting = waitingForApproval();
    var result = agent(completed("interrupted"));
    assertEquals("interrupted", result.eventOfType(TurnEnded.class).outcome());
    assertEquals(new Ready(waiting.info()), result.state());
  }

  @Test
  void interruptAsksTheAgentAndItsAnswerEndsTheTurn() {
    Running running = running();
    var asked = interrupt();
    assertTrue(asked.reply().isSuccess());
    assertTrue(asked.hasNoEvents(), "the agent ends the turn, not the request");
    assertEquals(running, asked.state());
    assertEquals("interrupted", agent(completed("interrupted")).eventOfType(TurnEnded.class).outcome());
    assertInstanceOf(Ready.class, thread.getState());
  }

  @Test
  void aWaitingTurnCanBeInterrupted() {
    Waiting waiting = waitingForApproval();
    var asked = interrupt();
    assertTrue(asked.reply().isSuccess());
    assertTrue(asked.hasNoEvents());
    assertEquals(waiting, asked.state());
  }

  @Test
  void steeringGoesToTheAgentAndChangesNothingHere() {
    Running running = running();
    var result = steer("use tabs");
    assertTrue(result.reply().isSuccess(), () -> String.valueOf(result.reply()));
    assertTrue(result.hasNoEvents());
    assertEquals(running, result.state());
  }

  @Test
  void framesAfterTheEndOfTheTurnInTheSameBatchBelongToNoTurn() {
    running();
    var result = agent(completed("end_turn"), new AgentEvent.MemoryExtracted("k", "v", null), permission("req_9"));
    assertEquals(List.of(TurnEnded.class), result.events().stream().map(Object::getClass).toList());
    assertInstanceOf(Ready.class, result.state());
  }

  @Test
  void framesWhileNoTurnRunsAreAcknowledgedAndDropped() {
    Ready ready = ready();
    var result = agent(new AgentEvent.TextDelta("m", "stray"), completed("end_turn"), permission("req_1"));
    assertTrue(result.hasNoEvents());
    assertEquals(ready, result.state());
  }

  // ---- what the agent does during a turn -----------------------------------------------------------------

  @Test
  void textDeltasAreCoalescedIntoOneAgentMessage() {
    Running running = running();
    assertTrue(agent(new AgentEvent.MessageStarted("m"), new AgentEvent.TextDelta("m", "Hel"),
        new AgentEvent.TextDelta("m", "lo ")).hasNoEvents(), "deltas are published, not persisted");
    assertTrue(agent(new AgentEvent.TextDelta("m", "world")).hasNoEvents());
    var result = agent(completed("end_turn"));
    assertEquals(List.of(AgentMessage.class, TurnEnded.class), result.events().stream().map(Object::getClass).toList());
    AgentMessage message = result.eventOfType(AgentMessage.class);
    assertEquals("Hello world", message.text());
    assertEquals(running.turn().turnId(), message.turnId());
    assertEquals(running.turn().messageId() + "-answer", message.itemId());
  }

  @Test
  void aBatchsTextDeltasReachSubscribersAsOneInTheirPlace() {
    running();
    TestProbe<ThreadUpdate> subscriber = testKit.createTestProbe();
    thread.<StatusReply<Done>>runCommand(replyTo -> checked(new Subscribe(subscriber.getRef(), null, replyTo)));
    agent(new AgentEvent.MessageStarted("m"), new AgentEvent.TextDelta("m", "Hel"), new AgentEvent.TextDelta("m", "lo "),
        new AgentEvent.Thinking("th_1", AgentEvent.Phase.PROGRESS, "hmm"), new AgentEvent.TextDelta("m", "wor"),
        new AgentEvent.TextDelta("m", "ld"));
    List<ThreadUpdate> received = new java.util.ArrayList<>();
    while (received.size() < 3) {
      ThreadUpdate update = subscriber.receiveMessage();
      if (update instanceof ThreadUpdate.TextDelta || update instanceof ThreadUpdate.ReasoningDelta) {
        received.add(update);
      }
    }
    assertEquals("Hello ", ((ThreadUpdate.TextDelta) received.get(0)).text());
    assertEquals("hmm", ((ThreadUpdate.ReasoningDelta) received.get(1)).text());
    assertEquals("world", ((ThreadUpdate.TextDelta) received.get(2)).text());
    subscriber.expectNoMessage(java.time.Duration.ofMillis(50));
  }

  @Test
  void theFinalTextIsTheMessageAndIsRecordedOnce() {
    running();
    var result = agent(new AgentEvent.MessageStarted("m"), new AgentEvent.TextDelta("m", "Hel"),
        new AgentEvent.TextFinal("m", "Hello, whole"));
    assertEquals("Hello, whole", result.eventOfType(AgentMessage.class).text());
    assertInstanceOf(Running.class, result.state());
    var ended = agent(new AgentEvent.TextFinal("m", "again"), completed("end_turn"));
    assertEquals(List.of(TurnEnded.class), ended.events().stream().map(Object::getClass).toList());
  }

  @Test
  void aTurnWithoutTextRecordsNoMessage() {
    running();
    assertEquals(List.of(TurnEnded.class),
        agent(new AgentEvent.MessageStarted("m"), completed("end_turn")).events().stream().map(Object::getClass).toList());
  }

  @Test
  void theNextTurnStartsItsTextAfresh() {
    running();
    agent(new AgentEvent.TextDelta("m", "first answer"), completed("end_turn"));
    assertTrue(startTurn("again").reply().isSuccess());
    var result = agent(new AgentEvent.TextDelta("m", "second"), completed("end_turn"));
    assertEquals("second", result.eventOfType(AgentMessage.class).text());
  }

  @Test
  void aToolCallIsRecordedWhenItsResultArrives() {
    Running running = running();
    assertTrue(agent(new AgentEvent.ToolCallStarted("call_1", "grep", "{\"q\":\"x\"}"),
        new AgentEvent.ToolCallDelta("call_1", "{")).hasNoEvents());
    var result = agent(new AgentEvent.ToolResult("call_1", "3 matches", false));
    assertEquals(new ToolCallRecorded(running.turn().turnId(), "call_1", "grep", "{\"q\":\"x\"}", "completed",
        "3 matches", result.eventOfType(ToolCallRecorded.class).at()), result.eventOfType(ToolCallRecorded.class));
    assertEquals(running, result.state());
  }

  @Test
  void aFailedToolCallIsRecordedFailed() {
    running();
    var result = agent(new AgentEvent.ToolCall("call_2", "fetch", "{}"),
        new AgentEvent.ToolResult("call_2", "no route to host", true));
    ToolCallRecorded call = result.eventOfType(ToolCallRecorded.class);
    assertEquals("fetch", call.toolName());
    assertEquals("failed", call.status());
    assertEquals("no route to host", call.output());
  }

  @Test
  void aToolResultWithoutItsCallIsStillRecorded() {
    running();
    ToolCallRecorded call = agent(new AgentEvent.ToolResult("call_x", "ok", false)).eventOfType(ToolCallRecorded.class);
    assertNull(call.toolName());
    assertEquals("completed", call.status());
  }

  @Test
  void aCommandIsRecordedWithItsWholeOutputAndNotAgainAsAToolCall() {
    Running running = running();
    assertTrue(agent(new AgentEvent.ToolCallStarted("call_1", "shell", "{\"command\":\"ls\"}"),
        new AgentEvent.TerminalOutput("call_1", "a.txt\n"), new AgentEvent.TerminalOutput("call_1", "b.txt\n"))
        .hasNoEvents(), "output is streamed, not persisted piecemeal");
    var result = agent(new AgentEvent.TerminalCompleted("call_1", 0, 42L),
        new AgentEvent.ToolResult("call_1", "a.txt\nb.txt\n", false));
    assertEquals(1, result.events().size(), () -> result.events().toString());
    CommandCompleted command = result.eventOfType(CommandCompleted.class);
    assertEquals(new CommandCompleted(running.turn().turnId(), "call_1", "a.txt\nb.txt\n", 0, 42L, command.at(),
        command.command()), command);
  }

  @Test
  void aFileChangeIsRecordedAndNotAgainAsAToolCall() {
    Running running = running();
    var result = agent(new AgentEvent.FileChanged("call_3", "src/App.java", AgentEvent.FileChangeKind.UPDATE, "@@ -1 +1 @@"),
        new AgentEvent.ToolResult("call_3", "applied", false));
    assertEquals(1, result.events().size(), () -> result.events().toString());
    ThreadEvent.FileChanged change = result.eventOfType(ThreadEvent.FileChanged.class);
    assertEquals(new ThreadEvent.FileChanged(running.turn().turnId(), "call_3", "src/App.java", "update", "@@ -1 +1 @@",
        change.at()), change);
    ThreadEvent.FileChanged added = agent(new AgentEvent.FileChanged(null, "NEW.md", AgentEvent.FileChangeKind.ADD, "+x"))
        .eventOfType(ThreadEvent.FileChanged.class);
    assertEquals("NEW.md", added.toolCallId(), "a change outside a tool call is its own item, named by its path");
    assertEquals("add", added.kind());
  }

  @Test
  void aPlanIsRecordedWithItsSteps() {
    Running running = running();
    var result = agent(new AgentEvent.PlanUpdated(AgentEvent.PlanChange.CREATED, null,
        List.of(new AgentEvent.PlanStep("read", "in_progress"), new AgentEvent.PlanStep("write", "pending")), "why"));
    ThreadEvent.PlanUpdated plan = result.eventOfType(ThreadEvent.PlanUpdated.class);
    assertEquals(running.turn().turnId() + "-plan", plan.planId());
    assertEquals(List.of(new ThreadEvent.PlanStep("read", "in_progress"), new ThreadEvent.PlanStep("write", "pending")),
        plan.steps());
    assertEquals("why", plan.explanation());
    assertEquals("plan_7", agent(new AgentEvent.PlanUpdated(AgentEvent.PlanChange.REVISED, "plan_7", List.of(), null))
        .eventOfType(ThreadEvent.PlanUpdated.class).planId());
    assertEquals(running, thread.getState());
  }

  @Test
  void reasoningIsRecordedWholeWhenItsBlockCompletes() {
    Running running = running();
    assertTrue(agent(new AgentEvent.Thinking("th_1", AgentEvent.Phase.STARTED, ""),
        new AgentEvent.Thinking("th_1", AgentEvent.Phase.PROGRESS, "let me "),
        new AgentEvent.Thinking("th_1", AgentEvent.Phase.PROGRESS, "see")).hasNoEvents());
    ReasoningRecorded reasoning = agent(new AgentEvent.Thinking("th_1", AgentEvent.Phase.COMPLETED, ""))
        .eventOfType(ReasoningRecorded.class);
    assertEquals(new ReasoningRecorded(running.turn().turnId(), "th_1", "let me see", reasoning.at()), reasoning);
    ReasoningRecorded whole = agent(new AgentEvent.Thinking(null, AgentEvent.Phase.COMPLETED, "all at once"))
        .eventOfType(ReasoningRecorded.class);
    assertEquals(running.turn().turnId() + "-thinking", whole.thinkingId());
    assertEquals("all at once", whole.text());
  }

  @Test
  void memoriesAndSummariesAreRecorded() {
    Running running = running();
    var result = agent(new AgentEvent.MemoryExtracted("editor", "helix", "{\"source\":\"user\"}"),
        new AgentEvent.SummaryCreated("we wrote tests", List.of("turn_1")));
    var memory = assertInstanceOf(ThreadEvent.MemoryExtracted.class, result.events().get(0));
    assertEquals(new ThreadEvent.MemoryExtracted("editor", "helix", "{\"source\":\"user\"}", memory.at()), memory);
    var summary = assertInstanceOf(ThreadEvent.SummaryCreated.class, result.events().get(1));
    assertEquals(new ThreadEvent.SummaryCreated("we wrote tests", List.of("turn_1"), summary.at()), summary);
    assertEquals(running, result.state());
  }

  @Test
  void framesTheThreadDoesNotRecordChangeNothing() {
    Running running = running();
    var result = agent(new AgentEvent.SandboxNotice("sandbox.init", "{}"),
        new AgentEvent.ApprovalResolved("req_0", true));
    assertTrue(result.hasNoEvents());
    assertEquals(running, result.state());
  }

  // ---- archive ---------------------------------------------------------------------------------------------

  @Test
  void archiveAndUnarchiveAnIdleThread() {
    Ready ready = ready();
    var archived = archive();
    assertTrue(archived.reply().isSuccess());
    assertInstanceOf(Archived.class, archived.event());
    assertEquals(new Ready(ready.info().withArchived(true)), archived.state());
    assertEquals("none", status().link(), "an archived thread lets its link go");

    var again = archive();
    assertTrue(again.reply().isSuccess(), "archiving twice is harmless");
    assertTrue(again.hasNoEvents());

    var unarchived = unarchive();
    assertTrue(unarchived.reply().isSuccess());
    assertInstanceOf(Unarchived.class, unarchived.event());
    assertEquals(ready, unarchived.state());

    var twice = unarchive();
    assertTrue(twice.reply().isSuccess());
    assertTrue(twice.hasNoEvents());
  }

  @Test
  void anArchivedThreadsAgentIsStoppedOnPodium() throws Exception {
    Ready ready = archived();
    String instanceId = ready.info().instanceId();
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (emulator.instances().containsKey(instanceId) && !"terminated".equals(emulator.instances().get(instanceId))) {
      assertTrue(System.nanoTime() < deadline, "the archived thread's instance still runs");
      Thread.sleep(20);
    }
    assertTrue(unarchive().reply().isSuccess()); // a new agent is started for it (see ThreadEntityTest)
  }

  @Test
  void aSocketDroppedWhileWaitingForTheClientFailsTheTurnAtOnce() {
    Running running = running();
    agent(new AgentEvent.PermissionRequested("req-1", "tc-1", AgentEvent.PermissionKind.COMMAND, "ls", "/work", null, null));
    var result = link(new PodiumLink.LinkState.Dropped("Podium closed the socket"));
    TurnEnded ended = (TurnEnded) result.events().get(result.events().size() - 1);
    assertEquals(running.turn().turnId(), ended.turnId());
    assertEquals("failed", ended.outcome());
    assertTrue(ended.error().contains("waited for the client"), ended.error());
    assertEquals(new Ready(running.info()), result.state());
  }

  @Test
  void aSocketDroppedAfterTheAgentSpokeFailsTheTurnOnceTheLinkReconnects() {
    Running running = running();
    agent(new AgentEvent.MessageStarted("m"), new AgentEvent.TextDelta("m", "On it"));
    var dropped = link(new PodiumLink.LinkState.Dropped("the socket failed"));
    assertTrue(dropped.hasNoEvents(), "the link does not know yet whether the instance lives");
    var reconnecting = link(new PodiumLink.LinkState.Reconnecting(1, "the socket failed"));
    TurnEnded ended = (TurnEnded) reconnecting.events().get(reconnecting.events().size() - 1);
    assertEquals("failed", ended.outcome());
    assertTrue(ended.error().contains("dropped mid-turn") && ended.error().contains("no replay"), ended.error());
    assertEquals(new Ready(running.info()), reconnecting.state());
  }

  @Test
  void aSocketDroppedBeforeTheAgentSpokeKeepsTheTurnRunning() {
    Running running = running();
    assertTrue(link(new PodiumLink.LinkState.Dropped("the socket failed")).hasNoEvents());
    var reconnecting = link(new PodiumLink.LinkState.Reconnecting(1, "the socket failed"));
    assertTrue(reconnecting.hasNoEvents());
    assertEquals(running, reconnecting.state());
    assertTrue(link(new PodiumLink.LinkState.Connected()).hasNoEvents());
    assertEquals(running, link(new PodiumLink.LinkState.Connected()).state());
  }

  // ---- the link --------------------------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"gone", "gave up"})
  void aLinkLostMidTurnAfterTheAgentAnsweredFailsTheTurn(String how) {
    Running running = running();
    agent(new AgentEvent.MessageStarted("m"), new AgentEvent.TextDelta("m", "On it")); // the agent has the prompt
    PodiumLink.LinkState lost = how.equals("gone") ? new PodiumLink.LinkState.InstanceGone("killed")
        : new PodiumLink.LinkState.GaveUp("10 attempts");
    var result = link(lost);
    assertEquals("On it", ((AgentMessageDelta) result.events().get(0)).text(), "what it said stays recorded");
    TurnEnded ended = (TurnEnded) result.events().get(1);
    assertEquals(running.turn().turnId(), ended.turnId());
    assertEquals("failed", ended.outcome());
    assertTrue(ended.error().startsWith("the agent is gone"), ended.error());
    assertEquals(new Ready(running.info()), result.state());
    assertEquals("none", status().link());
  }

  @Test
  void anAgentGoneBeforeItAnsweredKeepsTheTurnRunningForANewOne() {
    Running running = running(); // its stalled agent has the prompt and has said nothing
    var result = link(new PodiumLink.LinkState.InstanceGone("scaled to zero"));
    assertTrue(result.hasNoEvents(), "the prompt goes to a new agent (see ThreadEntityTest)");
    assertEquals(running, result.state());
  }

  @Test
  void aLinkThatGaveUpBeforeTheAgentAnsweredFailsTheTurn() {
    Running running = running(); // that instance may still live and work on the prompt: not sent twice
    TurnEnded ended = link(new PodiumLink.LinkState.GaveUp("10 attempts")).eventOfType(TurnEnded.class);
    assertEquals(running.turn().turnId(), ended.turnId());
    assertEquals("failed", ended.outcome());
  }

  @Test
  void aClosedReportIsFromALinkAlreadyLetGoAndChangesNothing() {
    Running running = running();
    var result = link(new PodiumLink.LinkState.Closed()); // a link closes only when asked, never mid-turn
    assertTrue(result.events().isEmpty());
    assertEquals(running, result.state());
    assertEquals("connected", status().link());
  }

  @Test
  void aLinkLostWhileWaitingFailsTheTurn() {
    Waiting waiting = waitingForQuestion();
    var result = link(new PodiumLink.LinkState.InstanceGone("killed"));
    assertEquals("failed", result.eventOfType(TurnEnded.class).outcome());
    assertEquals(new Ready(waiting.info()), result.state());
  }

  @Test
  void aReconnectingLinkKeepsTheTurnRunning() {
    Running running = running();
    var reconnecting = link(new PodiumLink.LinkState.Reconnecting(1, "dropped"));
    assertTrue(reconnecting.hasNoEvents());
    assertEquals(running, reconnecting.state());
    assertEquals("connecting", status().link());
    var steered = steer("meanwhile");
    assertTrue(steered.reply().isSuccess(), "guidance is held by the link until the agent is back");
    assertTrue(link(new PodiumLink.LinkState.Connected()).hasNoEvents());
    assertEquals("connected", status().link());
  }

  @Test
  void aLinkLostWhileIdleRecordsNothing() {
    Ready ready = ready();
    var result = link(new PodiumLink.LinkState.InstanceGone("scaled to zero"));
    assertTrue(result.hasNoEvents());
    assertEquals(ready, result.state());
    assertEquals("none", status().link());
  }

  // ==== refusals ===========================================================================================

  @Test
  void nothingButCreateIsAcceptedBeforeTheThreadIsStarted() {
    assertRefused(() -> startTurn("hi"), "has not been started");
    assertRefused(this::archive, "has not been started");
    assertRefused(this::unarchive, "has not been started");
    assertRefused(this::delete, "has not been started");
    assertRefused(() -> steer("x"), "no turn is running");
    assertRefused(() -> answerApproval("req_1", AgentCommand.Decision.ACCEPT), "no approval req_1");
    assertRefused(() -> answerQuestion("req_1", Map.of(), true), "no question req_1");
    assertInstanceOf(New.class, thread.getState());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "   "})
  void aThreadNeedsAnAgentType(String agentType) {
    assertRefused(() -> create(agentType), "needs an agent type");
    assertRefused(() -> create(null), "needs an agent type");
  }

  @Test
  void anUnknownAgentTypeIsRefused() {
    assertRefused(() -> create("no-such-agent"), "no-such-agent");
  }

  @Test
  void aSecondCreateWhileTheFirstIsUnderwayIsRefused() throws Exception {
    emulator.faults().restLatency(Duration.ofSeconds(3)); // the first Create waits for Podium meanwhile
    try {
      var first = CompletableFuture.supplyAsync(() -> create("echo"));
      Thread.sleep(500); // the first is sent at once and then answered only after the latency
      assertRefused(() -> create("echo"), "is being started");
      var created = first.get(20, TimeUnit.SECONDS);
      assertTrue(created.reply().isSuccess());
      assertInstanceOf(ThreadCreated.class, created.event());
    } finally {
      emulator.faults().restLatency(Duration.ZERO);
    }
  }

  @Test
  void aThreadIsCreatedOnce() {
    ready();
    assertRefused(() -> create("echo"), "already exists");
    startTurn("busy");
    assertRefused(() -> create("echo"), "already exists");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "  \n "})
  void aTurnNeedsText(String text) {
    ready();
    assertRefused(() -> startTurn(text), "a turn needs text");
    assertRefused(() -> startTurn(null), "a turn needs text");
  }

  @Test
  void anArchivedThreadTakesNoTurn() {
    archived();
    assertRefused(() -> startTurn("more"), "archived");
  }

  @Test
  void aRunningTurnRefusesWhatNeedsAnIdleThread() {
    Running running = running();
    assertRefused(() -> startTurn("another"), running.turn().turnId() + " is still running");
    assertRefused(this::archive, "cannot be archived while a turn is running");
    assertRefused(this::unarchive, "cannot be unarchived while a turn is running");
    assertRefused(this::delete, "cannot be deleted while a turn is running");
    assertRefused(() -> answerApproval("req_1", AgentCommand.Decision.ACCEPT), "no approval req_1 is pending");
    assertRefused(() -> answerQuestion("req_1", Map.of(), true), "no question req_1 is pending");
    assertRefused(() -> steer(" "), "steering needs text");
  }

  @Test
  void aWaitingTurnRefusesWhatNeedsAnIdleThread() {
    Waiting waiting = waitingForApproval();
    assertRefused(() -> startTurn("another"), "is waiting for approval req_1");
    assertRefused(this::archive, "cannot be archived while a turn is running");
    assertRefused(this::unarchive, "cannot be unarchived while a turn is running");
    assertRefused(this::delete, "cannot be deleted while a turn is running");
    assertRefused(() -> create("echo"), "already exists");
    assertEquals(waiting, thread.getState());
  }

  @Test
  void aTurnWaitingForAnAnswerRefusesAnotherTurn() {
    waitingForQuestion();
    // The refusal names the pending request (its wording says "approval" for a question too).
    assertRefused(() -> startTurn("another"), "is waiting for an answer to req_q");
  }

  @Test
  void anApprovalAnswerMustNameThePendingRequest() {
    waitingForApproval();
    assertRefused(() -> answerApproval("req_other", AgentCommand.Decision.ACCEPT),
        "no approval req_other is pending (waiting for req_1)");
    assertRefused(() -> answerQuestion("req_1", Map.of("q1", List.of("java")), false),
        "no question req_1 is pending (waiting for req_1)");
  }

  @Test
  void aQuestionIsNotAnsweredByAnApprovalNorUnderAnotherId() {
    waitingForQuestion();
    assertRefused(() -> answerApproval("req_q", AgentCommand.Decision.ACCEPT), "no approval req_q is pending");
    assertRefused(() -> answerQuestion("req_other", Map.of("q1", List.of("java")), false),
        "no question req_other is pending (waiting for req_q)");
  }

  @Test
  void anApprovalIsAnsweredOnce() {
    waitingForApproval();
    assertTrue(answerApproval("req_1", AgentCommand.Decision.ACCEPT).reply().isSuccess());
    assertRefused(() -> answerApproval("req_1", AgentCommand.Decision.DECLINE), "no approval req_1 is pending");
  }

  @Test
  void anIdleThreadHasNoTurnToSteerOrInterrupt() {
    ready();
    assertRefused(() -> steer("left"), "no turn is running");
    assertRefused(this::interrupt, "no turn is running");
    assertRefused(() -> answerApproval("req_1", AgentCommand.Decision.ACCEPT), "no approval req_1 is pending");
    assertRefused(() -> answerQuestion("req_1", Map.of(), true), "no question req_1 is pending");
    archive();
    assertRefused(() -> steer("left"), "no turn is running");
    assertRefused(this::interrupt, "no turn is running");
  }

  @Test
  void subscribingPersistsNothing() {
    Ready ready = ready();
    TestProbe<ThreadUpdate> subscriber = testKit.createTestProbe();
    var subscribed = thread.<StatusReply<Done>>runCommand(
        replyTo -> checked(new Subscribe(subscriber.getRef(), null, replyTo)));
    assertTrue(subscribed.reply().isSuccess());
    assertTrue(subscribed.hasNoEvents());
    assertEquals(ready, subscribed.state());
  }

  // ==== what crosses nodes =================================================================================

  @Test
  void updatesReachASubscriberOnAnotherNodeWithTheirEventsType() {
    // A subscriber may live on another node than its thread: what it is sent must come back as it went out.
    serialization.verifySerialization(new ThreadUpdate.Persisted(7, new Archived(5_000)), true);
    serialization.verifySerialization(new ThreadUpdate.Persisted(8, QUESTION), true);
    serialization.verifySerialization(new ThreadUpdate.PendingRequest(APPROVAL), true);
    serialization.verifySerialization(new ThreadUpdate.PendingRequest(QUESTION), true);
    serialization.verifySerialization(new ThreadUpdate.TextDelta("turn_1", "msg_1-answer", "Hel"), true);
  }

  // ==== recovery ===========================================================================================

  /** A real instance of the echo agent, kept quiet, for threads that are recovered rather than created. */
  static ThreadCreated createdEvent() throws Exception {
    var client = Podium.get(testKit.system()).client();
    String deployment = client.resolveDeployment("echo").toCompletableFuture().get(10, TimeUnit.SECONDS);
    String instanceId = client.createInstance(deployment, Map.of(), Map.of())
        .toCompletableFuture().get(10, TimeUnit.SECONDS).instanceId();
    emulator.faults().stall(instanceId, QUIET);
    return new ThreadCreated("echo", deployment, instanceId, "/work", null, 1_000);
  }

  static final TurnStarted TURN = new TurnStarted("turn_1", "msg_1", "do it", 2_000);
  static final ApprovalRequested APPROVAL =
      new ApprovalRequested("turn_1", "req_1", "command", "ls", "/work", "look", 3_000, "call_1", null);
  static final QuestionAsked QUESTION = new QuestionAsked("turn_1", "req_q",
      List.of(new Question("q1", "Language", "Which?", List.of("java"))), 3_000);

  String persistenceId() {
    return "Thread|" + id;
  }

  /** Recovers from these events; what the recovery itself persists is returned. */
  List<Object> recoverFrom(ThreadEvent... events) {
    thread.initialize(events);
    // A turn cut short by the restart is ended by a message the entity sends itself as it recovers; a command
    // sent now is handled after it, once its event is durable.
    status();
    List<Object> stored = thread.persistenceTestKit().persistedInStorage(persistenceId());
    assertEquals(List.of(events), stored.subList(0, events.length));
    return stored.subList(events.length, stored.size());
  }

  void assertTurnRecordedInterrupted(List<Object> recorded) {
    assertEquals(1, recorded.size(), recorded::toString);
    TurnEnded ended = assertInstanceOf(TurnEnded.class, recorded.get(0));
    assertEquals("turn_1", ended.turnId());
    assertEquals("interrupted", ended.outcome());
    assertTrue(ended.error().contains("restarted"), ended.error());
    assertEquals(TURN.at(), ended.startedAt());
  }

  @Test
  void recoveringANewThreadLeavesItNew() {
    assertEquals(List.of(), recoverFrom());
    assertEquals(new New(), thread.getState());
    assertEquals(new ThreadStatus("new", null, null, null, "none"), status());
  }

  @Test
  void recoveringAReadyThreadReconnectsItsAgent() throws Exception {
    ThreadCreated created = createdEvent();
    assertEquals(List.of(), recoverFrom(created));
    assertEquals(new Ready(new ThreadState.ThreadInfo("echo", created.deploymentId(), created.instanceId(), "/work",
        null, 1_000, false)), thread.getState());
    awaitLink("connected");
    assertTrue(startTurn("after the restart").reply().isSuccess());
  }

  @Test
  void recoveringAThreadWhoseTurnsEndedLeavesItReady() throws Exception {
    ThreadCreated created = createdEvent();
    assertEquals(List.of(), recoverFrom(created, TURN, APPROVAL,
        new ApprovalDecided(APPROVAL, "accept", 3_500),
        new AgentMessage("turn_1", "msg_1-answer", "done", 3_600),
        new TurnEnded("turn_1", "completed", null, 2_000, 1, 2, 4_000)));
    assertEquals("ready", status().phase());
  }

  @Test
  void recoveringAnArchivedThreadKeepsItArchivedAndWithoutItsAgent() throws Exception {
    ThreadCreated created = createdEvent();
    assertEquals(List.of(), recoverFrom(created, new Archived(5_000)));
    Ready ready = assertInstanceOf(Ready.class, thread.getState());
    assertTrue(ready.info().archived());
    assertEquals("none", status().link());
    assertRefused(() -> startTurn("more"), "archived");
  }

  @Test
  void recoveringAnUnarchivedThreadReconnectsItsAgent() throws Exception {
    ThreadCreated created = createdEvent();
    assertEquals(List.of(), recoverFrom(created, new Archived(5_000), new Unarchived(6_000)));
    assertFalse(((Ready) thread.getState()).info().archived());
    awaitLink("connected");
  }

  @Test
  void recoveringAThreadWithAReplacedInstanceUsesTheNewOne() throws Exception {
    ThreadCreated created = createdEvent();
    ThreadCreated replacement = createdEvent();
    assertEquals(List.of(), recoverFrom(created,
        new InstanceReplaced(replacement.deploymentId(), replacement.instanceId(), 7_000)));
    assertEquals(replacement.instanceId(), ((Ready) thread.getState()).info().instanceId());
    awaitLink("connected");
  }

  @Test
  void recoveringARunningTurnRecordsItInterrupted() throws Exception {
    ThreadCreated created = createdEvent();
    assertTurnRecordedInterrupted(recoverFrom(created, TURN));
    assertEquals(new Ready(new ThreadState.ThreadInfo("echo", created.deploymentId(), created.instanceId(), "/work",
        null, 1_000, false)), thread.getState());
  }

  @Test
  void recoveringATurnResumedAfterItsApprovalRecordsItInterrupted() throws Exception {
    assertTurnRecordedInterrupted(recoverFrom(createdEvent(), TURN, APPROVAL,
        new ApprovalDecided(APPROVAL, "accept", 3_500)));
    assertInstanceOf(Ready.class, thread.getState());
  }

  @Test
  void recoveringATurnWaitingForApprovalRecordsItInterrupted() throws Exception {
    assertTurnRecordedInterrupted(recoverFrom(createdEvent(), TURN, APPROVAL));
    assertInstanceOf(Ready.class, thread.getState());
    assertRefused(() -> answerApproval("req_1", AgentCommand.Decision.ACCEPT), "no approval req_1 is pending");
  }

  @Test
  void recoveringATurnWaitingForAnAnswerRecordsItInterrupted() throws Exception {
    assertTurnRecordedInterrupted(recoverFrom(createdEvent(), TURN, QUESTION));
    assertInstanceOf(Ready.class, thread.getState());
  }

  @Test
  void restartingMidTurnRecordsTheTurnInterruptedAndTheThreadTakesTheNextOne() {
    Running running = running();
    thread.restart();
    status(); // handled after the turn is ended (see recoverFrom)
    TurnEnded ended = assertInstanceOf(TurnEnded.class, last());
    assertEquals(running.turn().turnId(), ended.turnId());
    assertEquals("interrupted", ended.outcome());
    assertEquals(new Ready(running.info()), thread.getState());
    awaitLink("connected");
    assertTrue(startTurn("go on").reply().isSuccess());
  }

  @Test
  void restartingWhileWaitingRecordsTheTurnInterrupted() {
    Waiting waiting = waitingForQuestion();
    thread.restart();
    status();
    TurnEnded ended = assertInstanceOf(TurnEnded.class, last());
    assertEquals(waiting.turn().turnId(), ended.turnId());
    assertEquals("interrupted", ended.outcome());
    assertEquals(new Ready(waiting.info()), thread.getState());
  }

  @Test
  void restartingAnIdleThreadChangesNothing() {
    Ready ready = ready();
    int stored = thread.persistenceTestKit().persistedInStorage(persistenceId()).size();
    assertEquals(ready, thread.restart().state());
    status();
    assertEquals(stored, thread.persistenceTestKit().persistedInStorage(persistenceId()).size());
    archive();
    Ready archived = (Ready) thread.getState();
    assertEquals(archived, thread.restart().state());
    assertEquals("none", status().link());
  }

  Object last() {
    List<Object> stored = thread.persistenceTestKit().persistedInStorage(persistenceId());
    return stored.get(stored.size() - 1);
  }
}
