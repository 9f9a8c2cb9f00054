package dev.legato.thread;

import dev.legato.podium.AgentCommand;
import dev.legato.podium.PodiumLink;
import dev.legato.thread.ThreadState.ThreadInfo;
import dev.legato.thread.ThreadState.Turn;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * The thread's agent, one named state at a time: where its link is ({@link Agent}) and what became of the
 * running turn's prompt ({@link Prompt}). It decides what the link is told and when a turn can no longer be
 * completed truthfully; the thread persists what follows from that. Podium keeps no replay cursor, so a
 * prompt may be lost with a socket: one the agent never answered goes out again, once, to the same agent
 * when its link is back, or to a new agent when its instance is gone. A plain object: what it starts
 * elsewhere (a link, a re-spawn) goes through its {@link Port}, whose results come back as method calls.
 */
final class AgentLifecycle {

  /** Where the agent's link is. */
  sealed interface Agent {
    /** No link: a turn or resume brings the agent back, after reporting once why the last attempt failed. */
    record Absent(String failure) implements Agent {}

    /** The thread's first instance is being created (the thread is not recorded yet). */
    record Creating() implements Agent {}

    /** Finding out whether the instance still runs, then reconnecting or starting a new one; turns wait. */
    record Respawning() implements Agent {}

    /** A link is opening (or reconnecting after a drop); turns wait for it. */
    record Connecting(ActorRef<PodiumLink.Command> link) implements Agent {}

    /** Turns go out. */
    record Connected(ActorRef<PodiumLink.Command> link) implements Agent {}
  }

  /** What became of the running turn's prompt. */
  sealed interface Prompt {
    /** Nothing to do for it: no turn runs, the agent answered, or it went out its one second time. */
    record Settled() implements Prompt {}

    /** The agent has said nothing yet; {@code delivered} once it went out on a live socket. */
    record Unanswered(String text, boolean delivered) implements Prompt {}

    /** It went out, then the socket dropped before any answer: it goes out again when the link is back. */
    record ResendOnConnect(String text) implements Prompt {}

    /** The instance was gone before it answered: a new agent gets it once its link is up. */
    record Lost(String turnId, String text) implements Prompt {}

    /** The socket dropped after the agent spoke: the rest of its answer is lost, the turn fails. */
    record Dropped(String turnId) implements Prompt {}
  }

  /** What the lifecycle starts elsewhere. */
  interface Port {
    /** Opens a link to the instance; it reports to the thread. */
    ActorRef<PodiumLink.Command> openLink(String instanceId);

    /**
     * Reconnects to the thread's instance if it still runs, else starts a new one (without the lost turn's
     * prompt in its history); answered with {@link #reconnected}, {@link #respawned} or {@link #respawnFailed}.
     */
    void respawn(ThreadInfo info, String lostTurnId);

    /** The link's state as operators see it changed. */
    void linkStateChanged(String linkState);
  }

  /** How a drop or loss of the link leaves the running turn. */
  enum TurnFate { GOES_ON, FAILS, GOES_TO_NEW_AGENT }

  private static final Prompt SETTLED = new Prompt.Settled();
  private final Port port;
  private final ActorRef<StatusReply<Done>> ignore;
  private Agent agent = new Agent.Absent(null);
  private Prompt prompt = SETTLED;
  /** A message the agent must be told to stop once the link is up: its turn was ended without it. */
  private String interruptOnConnect;
  /** The conversation a new agent is given with its first prompt. */
  private List<AgentCommand.HistoryMessage> hydration = List.of();

  AgentLifecycle(Port port, ActorRef<StatusReply<Done>> ignore) {
    this.port = port;
    this.ignore = ignore;
  }

  Agent agent() {
    return agent;
  }

  Prompt prompt() {
    return prompt;
  }

  /** {@code connected}, {@code connecting} or {@code none}, as clients and operators see it. */
  String linkState() {
    return agent instanceof Agent.Connected ? "connected" : agent instanceof Agent.Connecting ? "connecting" : "none";
  }

  /** The link, connected or not; null without one. */
  ActorRef<PodiumLink.Command> link() {
    return agent instanceof Agent.Connected c ? c.link() : agent instanceof Agent.Connecting c ? c.link() : null;
  }

  /** Creating or re-spawning: work is under way that will come back to the thread. */
  boolean starting() {
    return agent instanceof Agent.Creating || agent instanceof Agent.Respawning;
  }

  boolean isLost(Turn turn) {
    return prompt instanceof Prompt.Lost lost && lost.turnId().equals(turn.turnId());
  }

  // ---- the link -------------------------------------------------------------------------------------------

  void creating() {
    agent = new Agent.Creating();
  }

  /** The creation is over (recorded or failed); the thread opens the link or starts the agent later. */
  void created() {
    agent = new Agent.Absent(null);
  }

  /** One thread, one link: never a second socket to an instance beside the first. */
  void open(String instanceId) {
    close();
    agent = new Agent.Connecting(port.openLink(instanceId));
    port.linkStateChanged(linkState());
  }

  void close() {
    ActorRef<PodiumLink.Command> link = link();
    if (link != null) {
      link.tell(new PodiumLink.Close());
      agent = new Agent.Absent(null);
      port.linkStateChanged(linkState());
    }
  }

  /** Brings back the agent of a thread without a link; nothing if that is under way already. */
  void respawn(ThreadInfo info) {
    if (agent instanceof Agent.Respawning) {
      return;
    }
    agent = new Agent.Respawning();
    port.respawn(info, prompt instanceof Prompt.Lost lost ? lost.turnId() : null);
  }

  /** A new instance replaced the gone one: it never had the old one's message, and learns the conversation. */
  void respawned(String instanceId, List<AgentCommand.HistoryMessage> history) {
    interruptOnConnect = null;
    hydration = history;
    open(instanceId);
  }

  /** The instance still runs: the waiting turns (or a lost prompt) go out once connected. */
  void reconnected(String instanceId) {
    open(instanceId);
  }

  /** Whether the running turn's prompt was waiting for that new agent: then the turn fails. */
  boolean respawnFailed(String reason, Turn turn) {
    agent = new Agent.Absent(reason);
    if (turn != null && isLost(turn)) {
      prompt = SETTLED;
      return true;
    }
    return false;
  }

  /** Why the last attempt to bring the agent back failed, once; null if it did not (or was told already). */
  String takeFailure() {
    if (agent instanceof Agent.Absent absent && absent.failure() != null) {
      agent = new Agent.Absent(null);
      return absent.failure();
    }
    return null;
  }

  /**
   * The link is up. An agent whose turn ended without it is told to stop; a lost prompt goes to the new agent,
   * one that may have been lost with a socket goes out again (once). True if a prompt was sent again.
   */
  boolean connected(Turn turn) {
    ActorRef<PodiumLink.Command> link = link();
    agent = new Agent.Connected(link);
    port.linkStateChanged(linkState());
    if (interruptOnConnect != null) {
      link.tell(new PodiumLink.Send(new AgentCommand.Interrupt(interruptOnConnect), ignore));
      interruptOnConnect = null;
    }
    if (turn != null && prompt instanceof Prompt.Lost lost && lost.turnId().equals(turn.turnId())) {
      send(turn, lost.text());
      prompt = SETTLED; // once
      return false;
    }
    if (turn != null && prompt instanceof Prompt.ResendOnConnect resend) {
      send(turn, resend.text());
      prompt = SETTLED; // once
      return true;
    }
    return false;
  }

  /**
   * The socket dropped during a turn. A prompt the agent never answered goes out again when the link is back
   * if it had gone out (one still held by the link goes by itself). Otherwise the agent is told to stop once
   * back: a turn waiting for the client fails now (its request can no longer be answered), a running one as
   * soon as the link knows more ({@link #reconnecting}, {@link #gone}).
   */
  TurnFate dropped(ThreadState state) {
    agent = new Agent.Connecting(link());
    port.linkStateChanged(linkState());
    Turn turn = state.turn();
    if (turn == null) {
      return TurnFate.GOES_ON;
    }
    if (state instanceof ThreadState.Running && prompt instanceof Prompt.Unanswered unanswered) {
      prompt = unanswered.delivered() ? new Prompt.ResendOnConnect(unanswered.text()) : unanswered;
      return TurnFate.GOES_ON;
    }
    if (state instanceof ThreadState.Running && prompt instanceof Prompt.ResendOnConnect) {
      return TurnFate.GOES_ON;
    }
    interruptOnConnect = turn.messageId();
    if (state instanceof ThreadState.Waiting) {
      return TurnFate.FAILS;
    }
    prompt = new Prompt.Dropped(turn.turnId());
    return TurnFate.GOES_ON;
  }

  /** The link reconnects to a live instance: a turn that lost part of the agent's answer with the socket fails. */
  TurnFate reconnecting(Turn turn) {
    agent = new Agent.Connecting(link());
    port.linkStateChanged(linkState());
    if (turn != null && prompt instanceof Prompt.Dropped dropped && dropped.turnId().equals(turn.turnId())) {
      prompt = SETTLED;
      return TurnFate.FAILS;
    }
    return TurnFate.GOES_ON;
  }

  /**
   * The link is gone for good (the instance is gone, or the link gave up). A running turn whose agent was gone
   * before it said anything (scaled to zero just before the turn) goes to a new agent — not after the link
   * gave up: that instance may still live and work on it. Any other turn fails.
   */
  TurnFate gone(ThreadState state, PodiumLink.LinkState why) {
    agent = new Agent.Absent(null);
    port.linkStateChanged(linkState());
    Turn turn = state.turn();
    if (turn == null) {
      return TurnFate.GOES_ON;
    }
    String unanswered = prompt instanceof Prompt.Unanswered u ? u.text()
        : prompt instanceof Prompt.ResendOnConnect r ? r.text() : null;
    if (why instanceof PodiumLink.LinkState.InstanceGone && unanswered != null
        && state instanceof ThreadState.Running running) {
      prompt = new Prompt.Lost(turn.turnId(), unanswered);
      respawn(running.info());
      return TurnFate.GOES_TO_NEW_AGENT;
    }
    prompt = SETTLED;
    return TurnFate.FAILS;
  }

  // ---- the running turn -----------------------------------------------------------------------------------

  /** A turn started: its prompt goes to the agent (with the conversation, for a new agent that lacks it). */
  void turnStarted(Turn turn, String text) {
    prompt = new Prompt.Unanswered(text, false);
    send(turn, text);
  }

  /** The agent said something for the running turn: losing its prompt from here on fails the turn. */
  void heard() {
    if (prompt instanceof Prompt.Unanswered || prompt instanceof Prompt.ResendOnConnect) {
      prompt = SETTLED;
    }
  }

  /** What the link did with a prompt: whether the turn can no longer go on (it never reached the agent). */
  TurnFate delivered(Turn turn, PodiumLink.Delivered delivered) {
    if (!(delivered.command() instanceof AgentCommand.ProcessMessage sent) || turn == null
        || !turn.messageId().equals(sent.messageId())) {
      return TurnFate.GOES_ON; // not this turn's prompt, or that turn is over already
    }
    if (delivered.sent()) {
      if (prompt instanceof Prompt.Unanswered unanswered) {
        prompt = new Prompt.Unanswered(unanswered.text(), true);
      }
      return TurnFate.GOES_ON;
    }
    return isLost(turn) ? TurnFate.GOES_ON : TurnFate.FAILS; // a lost one goes to a new agent
  }

  /** Tells the agent to stop the turn; false if no agent has its prompt (the thread ends the turn itself). */
  boolean interrupt(Turn turn, ActorRef<StatusReply<Done>> replyTo) {
    ActorRef<PodiumLink.Command> link = link();
    if (link == null || isLost(turn)) {
      prompt = SETTLED;
      return false;
    }
    link.tell(new PodiumLink.Send(new AgentCommand.Interrupt(turn.messageId()), replyTo));
    return true;
  }

  /** The turn ended without its agent (silence, restart): it is told to stop now or once its link is back. */
  void abandon(Turn turn) {
    prompt = SETTLED;
    if (agent instanceof Agent.Connected connected) {
      connected.link().tell(new PodiumLink.Send(new AgentCommand.Interrupt(turn.messageId()), ignore));
    } else {
      interruptOnConnect = turn.messageId();
    }
  }

  /** Recovery found a turn running: the agent may still work on it, and is told to stop once connected. */
  void interruptOnConnect(Turn turn) {
    interruptOnConnect = turn.messageId();
  }

  /** A fork's or re-spawned agent is told the conversation it continues with its first prompt. */
  void hydrate(List<AgentCommand.HistoryMessage> history) {
    hydration = history;
  }

  /** Sends a command to the agent if there is a link; false if there is none. */
  boolean tell(AgentCommand command, ActorRef<StatusReply<Done>> replyTo) {
    ActorRef<PodiumLink.Command> link = link();
    if (link == null) {
      return false;
    }
    link.tell(new PodiumLink.Send(command, replyTo));
    return true;
  }

  /**
   * The link says what became of the prompt ({@link PodiumLink.Delivered}) in order with its other news, so a
   * drop heard next tells whether it may have been lost with the socket.
   */
  private void send(Turn turn, String text) {
    List<AgentCommand.HistoryMessage> history = hydration;
    hydration = List.of(); // a new agent is told the history once
    link().tell(new PodiumLink.Deliver(new AgentCommand.ProcessMessage(turn.messageId(), text, history)));
  }
}
