package dev.legato.podium;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import dev.legato.podium.emulator.Spelling;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The WebSocket link against the emulator: every event kind, every spelling, commands, and faults. */
class PodiumLinkTest {
  static ActorTestKit testKit;
  PodiumEmulator emulator;
  PodiumClient client;
  final NativeCodec codec = new NativeCodec();

  @BeforeAll
  static void startKit() {
    testKit = ActorTestKit.create();
  }

  @AfterAll
  static void stopKit() {
    testKit.shutdownTestKit();
  }

  @AfterEach
  void stopEmulator() {
    if (emulator != null) {
      emulator.stop();
    }
  }

  void start(EmulatorSettings settings) {
    emulator = PodiumEmulator.start(settings);
    client = new PodiumClient(testKit.system(), PodiumClientTest.settings(emulator.baseUrl(), null));
  }

  /** A live link to a new instance of {@code agentType}, with a collecting owner. */
  final class Session {
    final String instanceId;
    final TestProbe<Collector.Seen> seen = testKit.createTestProbe();
    final ActorRef<PodiumLink.Command> link;

    Session(String agentType) throws Exception {
      instanceId = PodiumClientTest.await(client.createInstance(
          PodiumClientTest.await(client.resolveDeployment(agentType)), Map.of(), Map.of())).instanceId();
      ActorRef<PodiumLink.Output> owner = testKit.spawn(Collector.create(seen.getRef()));
      link = testKit.spawn(PodiumLink.create(client, client.settings(), codec, instanceId, owner));
      expectState(PodiumLink.LinkState.Connected.class);
    }

    void send(AgentCommand command) {
      TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
      link.tell(new PodiumLink.Send(command, reply.getRef()));
      assertTrue(reply.receiveMessage(Duration.ofSeconds(5)).isSuccess());
    }

    void prompt(String text) {
      send(new AgentCommand.ProcessMessage("msg_" + UUID.randomUUID(), text, List.of()));
    }

    <S extends PodiumLink.LinkState> S expectState(Class<S> type) {
      while (true) {
        Collector.Seen next = seen.receiveMessage(Duration.ofSeconds(10));
        if (next instanceof Collector.Seen.State state) {
          return assertInstanceOf(type, state.state());
        }
      }
    }

    /** Events up to and including the next message completion or failure. */
    List<AgentEvent> turn() {
      List<AgentEvent> events = new ArrayList<>();
      while (true) {
        Collector.Seen next = seen.receiveMessage(Duration.ofSeconds(10));
        if (next instanceof Collector.Seen.Event e) {
          events.add(e.event());
          if (e.event() instanceof AgentEvent.MessageCompleted || e.event() instanceof AgentEvent.Failed) {
            return events;
          }
        } else {
          throw new AssertionError("state change in the middle of a turn: " + next);
        }
      }
    }

    <E extends AgentEvent> E awaitEvent(Class<E> type) {
      while (true) {
        Collector.Seen next = seen.receiveMessage(Duration.ofSeconds(10));
        if (next instanceof Collector.Seen.Event e && type.isInstance(e.event())) {
          return type.cast(e.event());
        }
      }
    }
  }

  static String text(List<AgentEvent> events) {
    StringBuilder out = new StringBuilder();
    events.stream().filter(AgentEvent.TextDelta.class::isInstance).map(e -> ((AgentEvent.TextDelta) e).text()).forEach(out::append);
    return out.toString();
  }

  @Test
  void anEchoTurnStreamsTheAnswerBackWordByWord() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("echo");
    session.prompt("hello podium link");
    List<AgentEvent> turn = session.turn();
    assertInstanceOf(AgentEvent.MessageStarted.class, turn.get(0));
    assertTrue(text(turn).contains("hello podium link"), text(turn));
    AgentEvent.MessageCompleted completed = assertInstanceOf(AgentEvent.MessageCompleted.class, turn.get(turn.size() - 1));
    assertTrue(completed.usage().outputTokens() > 0);
  }

  @Test
  void historyGivenToARespawnedAgentIsWhatItKnows() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("echo");
    session.send(new AgentCommand.ProcessMessage("msg_1", "/history", List.of(
        new AgentCommand.HistoryMessage(AgentCommand.Role.USER, "first question"),
        new AgentCommand.HistoryMessage(AgentCommand.Role.ASSISTANT, "first answer"),
        new AgentCommand.HistoryMessage(AgentCommand.Role.USER, "second question"))));
    String answer = text(session.turn());
    assertTrue(answer.contains("first question") && answer.contains("second question"), answer);
  }

  @ParameterizedTest
  @EnumSource(Spelling.class)
  void everyEventKindArrivesTypedInEverySpelling(Spelling spelling) throws Exception {
    start(EmulatorSettings.defaults().withSpelling(spelling));
    Session session = new Session("coder");
    session.prompt("/think /plan /tool /tool-error /sandbox /remember lang=java /summarize /long 5 go");
    List<AgentEvent> turn = session.turn();
    Set<Class<?>> kinds = new java.util.HashSet<>();
    turn.forEach(e -> kinds.add(e.getClass()));
    for (Class<?> expected : List.of(AgentEvent.MessageStarted.class, AgentEvent.Thinking.class, AgentEvent.PlanUpdated.class,
        AgentEvent.ToolCallStarted.class, AgentEvent.ToolCall.class, AgentEvent.ToolResult.class,
        AgentEvent.SandboxNotice.class, AgentEvent.MemoryExtracted.class, AgentEvent.SummaryCreated.class,
        AgentEvent.TextDelta.class, AgentEvent.TextFinal.class, AgentEvent.MessageCompleted.class)) {
      assertTrue(kinds.contains(expected), spelling + ": no " + expected.getSimpleName() + " in " + turn);
    }
    assertTrue(turn.stream().anyMatch(e -> e instanceof AgentEvent.ToolResult r && r.isError()), "tool.error");
    assertEquals(0, codec.malformedCount());
    assertEquals(0, codec.unknownCount());
  }

  @Test
  void aCommandApprovalRoundTripStreamsTheCommandsOutput() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("coder");
    session.prompt("/run ls -la");
    AgentEvent.PermissionRequested request = session.awaitEvent(AgentEvent.PermissionRequested.class);
    assertEquals(AgentEvent.PermissionKind.COMMAND, request.kind());
    assertEquals("ls -la", request.command());
    session.send(new AgentCommand.ApprovalResponse(request.requestId(), AgentCommand.Decision.ACCEPT));
    List<AgentEvent> rest = session.turn();
    assertTrue(rest.stream().anyMatch(e -> e instanceof AgentEvent.ApprovalResolved r && r.approved()), rest.toString());
    assertTrue(rest.stream().anyMatch(AgentEvent.TerminalOutput.class::isInstance), rest.toString());
    AgentEvent.TerminalCompleted done = (AgentEvent.TerminalCompleted) rest.stream()
        .filter(AgentEvent.TerminalCompleted.class::isInstance).findFirst().orElseThrow();
    assertEquals(0, done.exitCode());
  }

  @Test
  void aDeclinedFileChangeIsNotApplied() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("coder");
    session.prompt("/edit src/Main.java");
    AgentEvent.PermissionRequested request = session.awaitEvent(AgentEvent.PermissionRequested.class);
    assertEquals(AgentEvent.PermissionKind.FILE_CHANGE, request.kind());
    session.send(new AgentCommand.ApprovalResponse(request.requestId(), AgentCommand.Decision.DECLINE));
    List<AgentEvent> rest = session.turn();
    assertTrue(rest.stream().anyMatch(e -> e instanceof AgentEvent.ApprovalResolved r && !r.approved()), rest.toString());
    assertTrue(rest.stream().noneMatch(AgentEvent.FileChanged.class::isInstance), rest.toString());
  }

  @Test
  void anApprovedFileChangeCarriesAUnifiedDiff() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("coder");
    session.prompt("/edit src/Main.java");
    AgentEvent.PermissionRequested request = session.awaitEvent(AgentEvent.PermissionRequested.class);
    session.send(new AgentCommand.ApprovalResponse(request.requestId(), AgentCommand.Decision.ACCEPT_FOR_SESSION));
    AgentEvent.FileChanged change = session.awaitEvent(AgentEvent.FileChanged.class);
    assertEquals("src/Main.java", change.path());
    assertTrue(change.diff().contains("@@") && change.diff().contains("+++"), change.diff());
  }

  @Test
  void aQuestionIsAnsweredAndTheAgentGoesOn() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("coder");
    session.prompt("/ask which language");
    AgentEvent.QuestionRequested question = session.awaitEvent(AgentEvent.QuestionRequested.class);
    String questionId = question.questions().get(0).id();
    session.send(new AgentCommand.Answer(question.requestId(), Map.of(questionId, List.of("java")), false));
    List<AgentEvent> rest = session.turn();
    assertTrue(text(rest).contains("java"), text(rest));
  }

  @Test
  void anInterruptEndsTheTurnAsInterrupted() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("coder");
    session.send(new AgentCommand.ProcessMessage("msg_long", "/slow /long 200", List.of()));
    session.awaitEvent(AgentEvent.TextDelta.class);
    session.send(new AgentCommand.Interrupt("msg_long"));
    List<AgentEvent> rest = session.turn();
    AgentEvent.MessageCompleted end = assertInstanceOf(AgentEvent.MessageCompleted.class, rest.get(rest.size() - 1));
    assertEquals("interrupted", end.stopReason());
  }

  @Test
  void aDroppedSocketReconnectsAndTheOwnerIsTold() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("echo");
    emulator.faults().dropSocket(session.instanceId);
    session.expectState(PodiumLink.LinkState.Dropped.class);
    PodiumLink.LinkState.Reconnecting reconnecting = session.expectState(PodiumLink.LinkState.Reconnecting.class);
    assertEquals(1, reconnecting.attempt());
    session.expectState(PodiumLink.LinkState.Connected.class);
    session.prompt("still here");
    assertTrue(text(session.turn()).contains("still here"));
  }

  @Test
  void aKilledInstanceIsReportedGoneNotReconnectedForever() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("echo");
    emulator.faults().killInstance(session.instanceId);
    session.expectState(PodiumLink.LinkState.Dropped.class); // the owner hears of the drop before the verdict
    PodiumLink.LinkState.InstanceGone gone = session.expectState(PodiumLink.LinkState.InstanceGone.class);
    assertTrue(gone.reason().contains("terminated") || gone.reason().contains("gone"), gone.reason());
    session.seen.expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void anInstanceThatScaledToZeroIsGone() throws Exception {
    start(EmulatorSettings.defaults().withIdleTimeout(Duration.ofMillis(300)));
    Session session = new Session("echo");
    session.expectState(PodiumLink.LinkState.Dropped.class);
    session.expectState(PodiumLink.LinkState.InstanceGone.class);
  }

  @Test
  void malformedAndUnknownFramesAreCountedAndTheStreamGoesOn() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("echo");
    emulator.faults().sendMalformedFrame(session.instanceId);
    emulator.faults().sendUnknownKindFrame(session.instanceId);
    session.prompt("after the noise");
    assertTrue(text(session.turn()).contains("after the noise"));
    // The noise and the turn travel the emulator's socket by different producers: the noise may come
    // after the turn, so wait for the counts rather than assume an order.
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while ((codec.malformedCount() < 1 || codec.unknownCount() < 1) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(1, codec.malformedCount());
    assertEquals(1, codec.unknownCount());
    session.prompt("still streaming");
    assertTrue(text(session.turn()).contains("still streaming"), "the stream goes on after the noise");
  }

  @Test
  void commandsSentWhileTheLinkIsDownGoOutOnceItIsBackUp() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("echo");
    emulator.faults().restLatency(Duration.ofMillis(600)); // keeps the link in its "is the instance alive?" check
    emulator.faults().dropSocket(session.instanceId);
    session.expectState(PodiumLink.LinkState.Dropped.class); // at once, before the check answers
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    session.link.tell(new PodiumLink.Send(new AgentCommand.ProcessMessage("msg_held", "held while down", List.of()),
        reply.getRef()));
    reply.expectNoMessage(Duration.ofMillis(200)); // held, neither refused nor sent
    emulator.faults().reset();
    session.expectState(PodiumLink.LinkState.Reconnecting.class);
    session.expectState(PodiumLink.LinkState.Connected.class);
    assertTrue(reply.receiveMessage(Duration.ofSeconds(5)).isSuccess());
    assertTrue(text(session.turn()).contains("held while down"), "the held prompt reached the agent");
  }

  @Test
  void aDeliveredCommandsFateReachesTheOwnerInOrderWithTheLinksNews() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("echo");
    AgentCommand prompt = new AgentCommand.ProcessMessage("msg_up", "while up", List.of());
    session.link.tell(new PodiumLink.Deliver(prompt));
    assertEquals(new Collector.Seen.Delivered(new PodiumLink.Delivered(prompt, null)),
        session.seen.receiveMessage(Duration.ofSeconds(5)));
    assertTrue(text(session.turn()).contains("while up"));

    emulator.faults().restLatency(Duration.ofMillis(400));
    emulator.faults().dropSocket(session.instanceId);
    session.expectState(PodiumLink.LinkState.Dropped.class);
    AgentCommand held = new AgentCommand.ProcessMessage("msg_down", "while down", List.of());
    session.link.tell(new PodiumLink.Deliver(held));
    emulator.faults().reset();
    session.expectState(PodiumLink.LinkState.Reconnecting.class);
    assertEquals(new Collector.Seen.State(new PodiumLink.LinkState.Connected()), session.seen.receiveMessage(Duration.ofSeconds(10)));
    assertEquals(new Collector.Seen.Delivered(new PodiumLink.Delivered(held, null)),
        session.seen.receiveMessage(Duration.ofSeconds(5)), "held until the link was up again, then sent");
    assertTrue(text(session.turn()).contains("while down"));
  }

  @Test
  void commandsHeldByALinkThatGivesUpAreRefusedWithTheReason() throws Exception {
    start(EmulatorSettings.defaults());
    Session session = new Session("echo");
    emulator.faults().restLatency(Duration.ofMillis(400));
    emulator.faults().dropSocket(session.instanceId);
    session.expectState(PodiumLink.LinkState.Dropped.class);
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    session.link.tell(new PodiumLink.Send(new AgentCommand.Steer("never sent"), reply.getRef()));
    emulator.faults().killInstance(session.instanceId);
    session.expectState(PodiumLink.LinkState.InstanceGone.class);
    StatusReply<Done> refused = reply.receiveMessage(Duration.ofSeconds(5));
    assertTrue(refused.isError());
    assertTrue(refused.getError().getMessage().contains("closed"), refused.getError().getMessage());
  }

  /**
   * A WebSocket upgrade slower than Pekko's subscription timeout (5 s by default, 300 ms here) used to leave
   * a link whose socket was open but whose reading stream had died ("Processor actor terminated"): the link
   * reconnected, so that a prompt sent on the first socket was answered on a socket nobody read.
   */
  @Test
  void anUpgradeSlowerThanTheSubscriptionTimeoutStillGivesAWorkingLink() throws Exception {
    ActorTestKit strict = ActorTestKit.create(com.typesafe.config.ConfigFactory.parseString(
        "pekko.stream.materializer.subscription-timeout.timeout = 300ms"));
    try {
      start(EmulatorSettings.defaults());
      PodiumClient strictClient = new PodiumClient(strict.system(), PodiumClientTest.settings(emulator.baseUrl(), null));
      String instanceId = PodiumClientTest.await(strictClient.createInstance(
          PodiumClientTest.await(strictClient.resolveDeployment("echo")), Map.of(), Map.of())).instanceId();
      emulator.faults().socketLatency(Duration.ofMillis(1_000));
      TestProbe<Collector.Seen> seen = strict.createTestProbe();
      ActorRef<PodiumLink.Command> link = strict.spawn(PodiumLink.create(strictClient, strictClient.settings(), codec,
          instanceId, strict.spawn(Collector.create(seen.getRef()))));
      Collector.Seen first = seen.receiveMessage(Duration.ofSeconds(10));
      assertEquals(new Collector.Seen.State(new PodiumLink.LinkState.Connected()), first);
      TestProbe<StatusReply<Done>> reply = strict.createTestProbe();
      link.tell(new PodiumLink.Send(new AgentCommand.ProcessMessage("msg_slow", "after a slow upgrade", List.of()),
          reply.getRef()));
      assertTrue(reply.receiveMessage(Duration.ofSeconds(5)).isSuccess());
      StringBuilder answer = new StringBuilder();
      while (true) {
        Collector.Seen next = seen.receiveMessage(Duration.ofSeconds(10));
        if (next instanceof Collector.Seen.State state) {
          throw new AssertionError("the link changed state in the middle of the turn: " + state.state());
        }
        AgentEvent event = ((Collector.Seen.Event) next).event();
        if (event instanceof AgentEvent.TextDelta delta) {
          answer.append(delta.text());
        }
        if (event instanceof AgentEvent.MessageCompleted) {
          break;
        }
      }
      assertTrue(answer.toString().contains("after a slow upgrade"), answer.toString());
    } finally {
      strict.shutdownTestKit();
    }
  }

  @Test
  void keepAlivePingsHoldAnIdleSocketOpenWhereTheServerWouldCloseIt() throws Exception {
    // A Podium that closes connections after 1 s without traffic.
    org.apache.pekko.actor.typed.ActorSystem<Void> strict = org.apache.pekko.actor.typed.ActorSystem.create(
        org.apache.pekko.actor.typed.javadsl.Behaviors.empty(), "strict-podium",
        com.typesafe.config.ConfigFactory.parseString("pekko.http.server.idle-timeout = 1s")
            .withFallback(com.typesafe.config.ConfigFactory.load()));
    try {
      emulator = PodiumEmulator.start(strict, EmulatorSettings.defaults());
      for (boolean keepAlive : new boolean[] {true, false}) {
        PodiumSettings settings = PodiumSettings.from(com.typesafe.config.ConfigFactory.parseString(
                "legato.podium.link.keep-alive = " + (keepAlive ? "300ms" : "1h"))
            .withFallback(com.typesafe.config.ConfigFactory.load())).withUrl(emulator.baseUrl());
        client = new PodiumClient(testKit.system(), settings);
        Session session = new Session("echo");
        if (keepAlive) {
          session.seen.expectNoMessage(Duration.ofMillis(2500)); // idle for 2.5 s, and still connected
          session.prompt("alive");
          assertTrue(text(session.turn()).contains("alive"));
        } else {
          session.expectState(PodiumLink.LinkState.Dropped.class); // the server closed the idle socket
        }
        session.link.tell(new PodiumLink.Close());
      }
    } finally {
      emulator.stop();
      emulator = null;
      strict.terminate();
    }
  }

  @Test
  void aSlowOwnerHoldsBackTheSocketInsteadOfBuffering() throws Exception {
    start(EmulatorSettings.defaults());
    String instanceId = PodiumClientTest.await(client.createInstance(
        PodiumClientTest.await(client.resolveDeployment("load")), Map.of(), Map.of())).instanceId();
    TestProbe<PodiumLink.Output> owner = testKit.createTestProbe();
    ActorRef<PodiumLink.Command> link = testKit.spawn(PodiumLink.create(client, client.settings(), codec, instanceId, owner.getRef()));
    assertInstanceOf(PodiumLink.StateChanged.class, owner.receiveMessage(Duration.ofSeconds(10)));
    TestProbe<StatusReply<Done>> reply = testKit.createTestProbe();
    int count = 20_000;
    link.tell(new PodiumLink.Send(new AgentCommand.ProcessMessage("msg_load", count + " 16", List.of()), reply.getRef()));
    assertTrue(reply.receiveMessage().isSuccess());

    // Without an Ack nothing more arrives: one batch is in flight, the rest waits in the socket.
    PodiumLink.Events first = (PodiumLink.Events) owner.receiveMessage(Duration.ofSeconds(10));
    owner.expectNoMessage(Duration.ofMillis(500));
    assertTrue(first.events().size() <= 256, "a batch is bounded: " + first.events().size());

    int deltas = (int) first.events().stream().filter(AgentEvent.TextDelta.class::isInstance).count();
    first.ackTo().tell(PodiumLink.Ack.INSTANCE);
    boolean completed = false;
    while (!completed) {
      PodiumLink.Events batch = (PodiumLink.Events) owner.receiveMessage(Duration.ofSeconds(10));
      assertTrue(batch.events().size() <= 256);
      deltas += (int) batch.events().stream().filter(AgentEvent.TextDelta.class::isInstance).count();
      completed = batch.events().stream().anyMatch(AgentEvent.MessageCompleted.class::isInstance);
      batch.ackTo().tell(PodiumLink.Ack.INSTANCE);
    }
    assertEquals(count, deltas, "no delta lost under backpressure");
  }
}
