package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.podium.AgentCommand;
import dev.legato.podium.PodiumLink;
import dev.legato.thread.AgentLifecycle.Agent;
import dev.legato.thread.AgentLifecycle.Prompt;
import dev.legato.thread.AgentLifecycle.TurnFate;
import dev.legato.thread.ThreadState.Running;
import dev.legato.thread.ThreadState.ThreadInfo;
import dev.legato.thread.ThreadState.Turn;
import dev.legato.thread.ThreadState.Waiting;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

/**
 * The agent's lifecycle on its own, without actors: links are test inboxes, the port records what it was
 * asked. The last test enumerates every named sub-state and shows the way out of each: a thread is never
 * stuck because every state it can wait in has an exit, by construction of the types.
 */
class AgentLifecycleTest {
  private static final ThreadInfo INFO = new ThreadInfo("coder", "dep_1", "inst_1", null, null, 0, false);
  private static final Turn TURN = new Turn("turn_1", "msg_1", 0);
  private static final Running RUNNING = new Running(INFO, TURN);
  private static final Waiting WAITING = new Waiting(INFO, TURN,
      new ThreadEvent.ApprovalRequested("turn_1", "req_1", "command", "ls", null, null, 0, null, null));

  private final List<TestInbox<PodiumLink.Command>> links = new ArrayList<>();
  private final List<String> respawns = new ArrayList<>();
  private final List<String> linkStates = new ArrayList<>();
  private final TestInbox<StatusReply<Done>> ignore = TestInbox.create();
  private final AgentLifecycle lifecycle = new AgentLifecycle(new AgentLifecycle.Port() {
    @Override
    public org.apache.pekko.actor.typed.ActorRef<PodiumLink.Command> openLink(String instanceId) {
      TestInbox<PodiumLink.Command> link = TestInbox.create();
      links.add(link);
      return link.getRef();
    }

    @Override
    public void respawn(ThreadInfo info, String lostTurnId) {
      respawns.add(info.instanceId() + "/" + lostTurnId);
    }

    @Override
    public void linkStateChanged(String linkState) {
      linkStates.add(linkState);
    }
  }, ignore.getRef());

  private TestInbox<PodiumLink.Command> link() {
    return links.get(links.size() - 1);
  }

  private void connectedInTurn() {
    lifecycle.open("inst_1");
    lifecycle.connected(null);
    lifecycle.turnStarted(TURN, "hello");
  }

  @Test
  void aTurnsPromptGoesOutWithTheConversationOnce() {
    lifecycle.open("inst_1");
    lifecycle.hydrate(List.of(new AgentCommand.HistoryMessage(AgentCommand.Role.USER, "before")));
    lifecycle.connected(null);
    lifecycle.turnStarted(TURN, "hello");
    var deliver = (PodiumLink.Deliver) link().receiveMessage();
    assertEquals(new AgentCommand.ProcessMessage("msg_1", "hello",
        List.of(new AgentCommand.HistoryMessage(AgentCommand.Role.USER, "before"))), deliver.command());
    lifecycle.turnStarted(new Turn("turn_2", "msg_2", 0), "again");
    assertEquals(List.of(), ((AgentCommand.ProcessMessage) ((PodiumLink.Deliver) link().receiveMessage()).command()).history());
    assertEquals(List.of("connecting", "connected"), linkStates);
  }

  @Test
  void aPromptLostWithTheSocketGoesOutAgainOnceWhenTheLinkIsBack() {
    connectedInTurn();
    link().receiveMessage();
    lifecycle.delivered(TURN, new PodiumLink.Delivered(new AgentCommand.ProcessMessage("msg_1", "hello", List.of()), null));
    assertEquals(TurnFate.GOES_ON, lifecycle.dropped(RUNNING));
    assertInstanceOf(Prompt.ResendOnConnect.class, lifecycle.prompt());
    assertTrue(lifecycle.connected(TURN), "the prompt went out again");
    assertEquals("hello", ((AgentCommand.ProcessMessage) ((PodiumLink.Deliver) link().receiveMessage()).command()).text());
    assertEquals(TurnFate.GOES_ON, lifecycle.dropped(RUNNING));
    assertEquals(TurnFate.FAILS, lifecycle.reconnecting(TURN), "once only: a second loss fails the turn");
  }

  @Test
  void aDropAfterTheAgentSpokeFailsTheTurnWhenTheLinkKnowsMore() {
    connectedInTurn();
    lifecycle.heard();
    assertEquals(TurnFate.GOES_ON, lifecycle.dropped(RUNNING));
    assertEquals(TurnFate.FAILS, lifecycle.reconnecting(TURN));
    lifecycle.connected(null);
    link().receiveMessage(); // the prompt
    var interrupt = (PodiumLink.Send) link().receiveMessage();
    assertEquals(new AgentCommand.Interrupt("msg_1"), interrupt.command(), "the agent is told to stop that turn");
  }

  @Test
  void aDropWhileWaitingForTheClientFailsTheTurnAtOnce() {
    connectedInTurn();
    lifecycle.heard();
    assertEquals(TurnFate.FAILS, lifecycle.dropped(WAITING));
  }

  @Test
  void anInstanceGoneBeforeItAnsweredHandsThePromptToANewAgent() {
    connectedInTurn();
    assertEquals(TurnFate.GOES_TO_NEW_AGENT, lifecycle.gone(RUNNING, new PodiumLink.LinkState.InstanceGone("scaled")));
    assertEquals(List.of("inst_1/turn_1"), respawns, "the new agent's history leaves the lost prompt out");
    assertTrue(lifecycle.isLost(TURN));
    assertEquals(TurnFate.GOES_ON, lifecycle.delivered(TURN,
        new PodiumLink.Delivered(new AgentCommand.ProcessMessage("msg_1", "hello", List.of()), "closed")));
    lifecycle.respawned("inst_2", List.of());
    assertFalse(lifecycle.connected(TURN));
    assertEquals("hello", ((AgentCommand.ProcessMessage) ((PodiumLink.Deliver) link().receiveMessage()).command()).text());
    assertInstanceOf(Prompt.Settled.class, lifecycle.prompt());
  }

  @Test
  void aLinkThatGaveUpFailsTheTurnItsInstanceMayStillWorkOn() {
    connectedInTurn();
    assertEquals(TurnFate.FAILS, lifecycle.gone(RUNNING, new PodiumLink.LinkState.GaveUp("retries")));
    assertTrue(respawns.isEmpty());
  }

  @Test
  void aFailedRespawnIsReportedOnceAndFailsTheTurnWaitingForIt() {
    connectedInTurn();
    lifecycle.gone(RUNNING, new PodiumLink.LinkState.InstanceGone("x"));
    assertTrue(lifecycle.respawnFailed("no capacity", TURN));
    assertEquals("no capacity", lifecycle.takeFailure());
    assertNull(lifecycle.takeFailure(), "once");
  }

  @Test
  void interruptingWithoutAnAgentLeavesTheEndToTheThread() {
    assertFalse(lifecycle.interrupt(TURN, ignore.getRef()));
    connectedInTurn();
    assertTrue(lifecycle.interrupt(TURN, ignore.getRef()));
  }

  /** Every named sub-state, how the thread gets into it, and the message that takes it out. */
  @Test
  void everyNamedSubStateHasAWayOut() {
    Map<Class<?>, Consumer<AgentLifecycle>> ways = new LinkedHashMap<>();
    Map<Class<?>, Consumer<AgentLifecycle>> into = new LinkedHashMap<>();
    into.put(Agent.Absent.class, l -> {});
    ways.put(Agent.Absent.class, l -> l.respawn(INFO)); // a turn, a resume or StartAgent brings it back
    into.put(Agent.Creating.class, AgentLifecycle::creating);
    ways.put(Agent.Creating.class, AgentLifecycle::created); // InstanceReady or CreateFailed always comes
    into.put(Agent.Respawning.class, l -> l.respawn(INFO));
    ways.put(Agent.Respawning.class, l -> l.respawnFailed("x", null)); // Reconnect, Respawned or RespawnFailed
    into.put(Agent.Connecting.class, l -> l.open("inst_1"));
    ways.put(Agent.Connecting.class, l -> l.gone(RUNNING, new PodiumLink.LinkState.GaveUp("x"))); // or Connected
    into.put(Agent.Connected.class, l -> { l.open("inst_1"); l.connected(null); });
    ways.put(Agent.Connected.class, AgentLifecycle::close); // the idle timer, archive, delete, restore
    into.put(Prompt.Settled.class, l -> {});
    ways.put(Prompt.Settled.class, l -> { l.open("inst_1"); l.connected(null); l.turnStarted(TURN, "next"); });
    into.put(Prompt.Unanswered.class, l -> { l.open("inst_1"); l.connected(null); l.turnStarted(TURN, "p"); });
    ways.put(Prompt.Unanswered.class, AgentLifecycle::heard); // or the silence watchdog abandons the turn
    into.put(Prompt.ResendOnConnect.class, l -> {
      l.open("inst_1"); l.connected(null); l.turnStarted(TURN, "p");
      l.delivered(TURN, new PodiumLink.Delivered(new AgentCommand.ProcessMessage("msg_1", "p", List.of()), null));
      l.dropped(RUNNING);
    });
    ways.put(Prompt.ResendOnConnect.class, l -> l.connected(TURN));
    into.put(Prompt.Lost.class, l -> {
      l.open("inst_1"); l.connected(null); l.turnStarted(TURN, "p");
      l.gone(RUNNING, new PodiumLink.LinkState.InstanceGone("x"));
    });
    ways.put(Prompt.Lost.class, l -> l.respawnFailed("x", TURN)); // or the new agent connects and gets it
    into.put(Prompt.Dropped.class, l -> { l.open("inst_1"); l.connected(null); l.turnStarted(TURN, "p"); l.heard();
      l.dropped(RUNNING); });
    ways.put(Prompt.Dropped.class, l -> l.reconnecting(TURN)); // or gone: the turn fails either way

    Set<Class<?>> named = Arrays.stream(new Class<?>[][] {
        Agent.class.getPermittedSubclasses(), Prompt.class.getPermittedSubclasses()})
        .flatMap(Arrays::stream).collect(Collectors.toSet());
    assertEquals(named, ways.keySet(), "every named sub-state has a way out here");
    for (Class<?> state : named) {
      AgentLifecycle l = new AgentLifecycle(new AgentLifecycle.Port() {
        @Override
        public org.apache.pekko.actor.typed.ActorRef<PodiumLink.Command> openLink(String instanceId) {
          return TestInbox.<PodiumLink.Command>create().getRef();
        }

        @Override
        public void respawn(ThreadInfo info, String lostTurnId) {}

        @Override
        public void linkStateChanged(String linkState) {}
      }, ignore.getRef());
      into.get(state).accept(l);
      Object now = Agent.class.isAssignableFrom(state) ? l.agent() : l.prompt();
      assertInstanceOf(state, now, "entered " + state.getSimpleName());
      ways.get(state).accept(l);
      Object after = Agent.class.isAssignableFrom(state) ? l.agent() : l.prompt();
      assertFalse(state.isInstance(after), "left " + state.getSimpleName() + ", now " + after);
    }
  }
}
