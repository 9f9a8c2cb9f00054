package dev.legato.gateway.protocol;

import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.thread.ThreadCommand;
import dev.legato.thread.ThreadEvent;
import dev.legato.thread.ThreadUpdate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Live thread updates as a Codex client receives them: every message conforms to the Codex schema. */
class LiveRendererTest {
  static CodexSchema schema;

  final String threadId = UUID.randomUUID().toString();
  final ThreadEvents events = new ThreadEvents();
  final LiveRenderer renderer = new LiveRenderer(threadId, ThreadEvents.CWD, null, events::now);
  /** Everything sent so far, as it went on the wire. */
  final List<ObjectNode> wire = new ArrayList<>();
  final Map<String, Integer> requestIds = new HashMap<>();

  @BeforeAll
  static void generateTheSchema() {
    schema = CodexSchema.get();
  }

  @Test
  void aFullTurnStreamsTextReasoningAnApprovedCommandAFileChangeAndAPlan() {
    ThreadEvent.TurnStarted turn = events.turnStarted("turn-1", "Fix the build");
    List<ObjectNode> started = live(turn);
    assertEquals(List.of("turn/started", "thread/status/changed", "item/started", "item/completed"), methods(started));
    assertEquals("turn-1", started.get(0).at("/params/turn/id").asText());
    assertEquals("inProgress", started.get(0).at("/params/turn/status").asText());
    assertEquals("active", started.get(1).at("/params/status/type").asText());
    assertEquals("userMessage", started.get(3).at("/params/item/type").asText());
    assertEquals("Fix the build", started.get(3).at("/params/item/content/0/text").asText());
    assertEquals("msg_turn-1", started.get(3).at("/params/item/id").asText());

    List<ObjectNode> thinking = live(new ThreadUpdate.ReasoningDelta("turn-1", "think-1", "Looking at "));
    thinking.addAll(live(new ThreadUpdate.ReasoningDelta("turn-1", "think-1", "the pom")));
    assertEquals(List.of("item/started", "item/reasoning/summaryTextDelta", "item/reasoning/summaryTextDelta"),
        methods(thinking));
    List<ObjectNode> thought = live(events.reasoning("turn-1", "think-1", "Looking at the pom"));
    assertEquals("Looking at the pom", thought.get(0).at("/params/item/summary/0").asText());
    assertEquals("think-1", thought.get(0).at("/params/item/id").asText());

    String answer = ThreadEvents.answerId("turn-1");
    List<ObjectNode> text = live(new ThreadUpdate.TextDelta("turn-1", answer, "I will "));
    text.addAll(live(new ThreadUpdate.TextDelta("turn-1", answer, "run it.")));
    assertEquals(List.of("item/started", "item/agentMessage/delta", "item/agentMessage/delta"), methods(text));
    assertEquals("", text.get(0).at("/params/item/text").asText());
    assertEquals(answer, text.get(1).at("/params/itemId").asText());
    assertEquals("run it.", text.get(2).at("/params/delta").asText());
    assertTrue(live(events.window("turn-1", "I will run it.")).isEmpty(), "a live window repeats the deltas");

    ThreadEvent.ApprovalRequested approval = events.approval("turn-1", "req-1", "command", "mvn -q test", "to test");
    List<ObjectNode> asked = live(approval);
    assertEquals(List.of("item/commandExecution/requestApproval", "thread/status/changed"), methods(asked));
    assertEquals("mvn -q test", asked.get(0).at("/params/command").asText());
    assertEquals("req-1", asked.get(0).at("/params/itemId").asText());
    assertEquals("waitingOnApproval", asked.get(1).at("/params/status/activeFlags/0").asText());
    int rpcId = asked.get(0).get("id").asInt();

    List<ObjectNode> resolved = live(events.decided(approval, "accept"));
    assertEquals(List.of("serverRequest/resolved", "thread/status/changed"), methods(resolved));
    assertEquals(rpcId, resolved.get(0).at("/params/requestId").asInt());
    assertEquals(0, resolved.get(1).at("/params/status/activeFlags").size());

    List<ObjectNode> output = live(new ThreadUpdate.CommandOutputDelta("turn-1", "call-1", "BUILD "));
    output.addAll(live(new ThreadUpdate.CommandOutputDelta("turn-1", "call-1", "SUCCESS\n")));
    output.addAll(live(events.commandCompleted("turn-1", "call-1", "BUILD SUCCESS\n", 0)));
    assertEquals(List.of("item/started", "item/commandExecution/outputDelta", "item/commandExecution/outputDelta",
        "item/completed"), methods(output));
    assertEquals("inProgress", output.get(0).at("/params/item/status").asText());
    assertEquals("mvn -q test", output.get(0).at("/params/item/command").asText());
    ObjectNode ran = (ObjectNode) output.get(3).at("/params/item");
    assertEquals("call-1", ran.get("id").asText());
    assertEquals("completed", ran.get("status").asText());
    assertEquals("BUILD SUCCESS\n", ran.get("aggregatedOutput").asText());
    assertEquals(0, ran.get("exitCode").asInt());
    assertEquals(ThreadEvents.CWD, ran.get("cwd").asText());

    String diff = "--- a/pom.xml\n+++ b/pom.xml\n@@ -1 +1 @@\n-old\n+new\n";
    List<ObjectNode> changed = live(events.fileChanged("turn-1", "call-2", "pom.xml", "update", diff));
    assertEquals(List.of("item/started", "item/completed", "turn/diff/updated"), methods(changed));
    assertEquals("update", changed.get(1).at("/params/item/changes/0/kind/type").asText());
    assertEquals(diff, changed.get(1).at("/params/item/changes/0/diff").asText());
    assertEquals(diff, changed.get(2).at("/params/diff").asText());
    String second = "--- /dev/null\n+++ b/NOTES.md\n@@ -0,0 +1 @@\n+notes\n";
    List<ObjectNode> added = live(events.fileChanged("turn-1", "call-3", "NOTES.md", "add", second));
    assertEquals(diff + second, added.get(2).at("/params/diff").asText(), "the turn's diff so far");

    List<ObjectNode> planned = live(events.plan("turn-1", "plan-1", "First things first",
        "Read the pom", "completed", "Fix it", "in_progress", "Test", "pending"));
    assertEquals(List.of("turn/plan/updated"), methods(planned));
    assertEquals("inProgress", planned.get(0).at("/params/plan/1/status").asText());
    assertEquals("First things first", planned.get(0).at("/params/explanation").asText());

    List<ObjectNode> message = live(events.message("turn-1", "I will run it. Done."));
    assertEquals(List.of("item/completed"), methods(message));
    assertEquals("I will run it. Done.", message.get(0).at("/params/item/text").asText());
    assertEquals(answer, message.get(0).at("/params/item/id").asText());

    List<ObjectNode> ended = live(events.turnEnded(turn, "completed", null, 1200, 340));
    assertEquals(List.of("thread/tokenUsage/updated", "turn/completed", "thread/status/changed"), methods(ended));
    assertEquals(1540, ended.get(0).at("/params/tokenUsage/total/totalTokens").asLong());
    assertEquals(340, ended.get(0).at("/params/tokenUsage/last/outputTokens").asLong());
    assertEquals("completed", ended.get(1).at("/params/turn/status").asText());
    assertTrue(ended.get(1).at("/params/turn/error").isNull());
    assertEquals("idle", ended.get(2).at("/params/status/type").asText());

    // every item that started completed, once
    assertEquals(count("item/started"), count("item/completed"));
  }

  @Test
  void aQuestionIsARequestForUserInputUntilItIsAnswered() {
    ThreadEvent.TurnStarted turn = events.turnStarted("turn-q", "Deploy?");
    live(turn);
    ThreadEvent.QuestionAsked asked = events.question("turn-q", "req-q", "Which environment?", "staging", "prod");
    List<ObjectNode> request = live(asked);
    assertEquals(List.of("item/tool/requestUserInput", "thread/status/changed"), methods(request));
    assertEquals("Which environment?", request.get(0).at("/params/questions/0/question").asText());
    assertEquals("prod", request.get(0).at("/params/questions/0/options/1/label").asText());
    assertEquals("waitingOnUserInput", request.get(1).at("/params/status/activeFlags/0").asText());

    List<ObjectNode> answered = live(events.answered(asked, "staging"));
    assertEquals(List.of("serverRequest/resolved", "thread/status/changed"), methods(answered));
    assertEquals(request.get(0).get("id"), answered.get(0).at("/params/requestId"));
  }

  @Test
  void aFailedTurnCarriesItsErrorAndClosesWhatWasOpen() {
    ThreadEvent.TurnStarted turn = events.turnStarted("turn-f", "Go");
    live(turn);
    live(new ThreadUpdate.ReasoningDelta("turn-f", "think", "hmm"));
    renderAndCheck(renderer.toolStarted("turn-f", "call-9", "web_fetch", "{\"url\":\"https://example.org\"}", null));
    List<ObjectNode> ended = live(events.turnEnded(turn, "failed", "the agent is gone", 0, 0));
    assertEquals(List.of("item/completed", "item/completed", "error", "turn/completed", "thread/status/changed"),
        methods(ended));
    assertEquals("hmm", ended.get(0).at("/params/item/summary/0").asText());
    assertEquals("dynamicToolCall", ended.get(1).at("/params/item/type").asText());
    assertEquals("failed", ended.get(1).at("/params/item/status").asText());
    assertEquals("the agent is gone", ended.get(2).at("/params/error/message").asText());
    assertEquals("turn-f", ended.get(2).at("/params/turnId").asText());
    assertEquals("failed", ended.get(3).at("/params/turn/status").asText());
    assertEquals("the agent is gone", ended.get(3).at("/params/turn/error/message").asText());
  }

  @Test
  void anInterruptedTurnKeepsTheTextThatStreamed() {
    ThreadEvent.TurnStarted turn = events.turnStarted("turn-i", "Write a poem");
    live(turn);
    String answer = ThreadEvents.answerId("turn-i");
    live(new ThreadUpdate.TextDelta("turn-i", answer, "Roses are"));
    assertTrue(live(events.window("turn-i", "Roses are")).isEmpty());
    List<ObjectNode> ended = live(events.turnEnded(turn, "interrupted", "interrupted by the user", 0, 0));
    assertEquals(List.of("item/completed", "turn/completed", "thread/status/changed"), methods(ended));
    assertEquals("Roses are", ended.get(0).at("/params/item/text").asText());
    assertEquals("interrupted", ended.get(1).at("/params/turn/status").asText());
    assertEquals("interrupted by the user", ended.get(1).at("/params/turn/error/message").asText());
  }

  @Test
  void aTurnThatIsNoMoreWhereTheHistoryEndsIsToldInterrupted() {
    // the client heard a turn start; its entity's node died before the start reached the replica, and the thread
    // followed anew runs no turn, or another one: the lost turn ends for the client instead of never
    ThreadEvent.TurnStarted turn = events.turnStarted("turn-l", "Count to ten");
    live(turn);
    live(new ThreadUpdate.TextDelta("turn-l", ThreadEvents.answerId("turn-l"), "one two"));
    assertTrue(renderAndCheck(renderer.historyEnds(new ThreadUpdate.Live(7, null, "turn-l"))).isEmpty(),
        "still running there: nothing to say");
    List<ObjectNode> ended = renderAndCheck(renderer.historyEnds(new ThreadUpdate.Live(5, null, "turn-other")));
    assertEquals(List.of("item/completed", "turn/completed", "thread/status/changed"), methods(ended));
    assertEquals("turn-l", ended.get(1).at("/params/turn/id").asText());
    assertEquals("interrupted", ended.get(1).at("/params/turn/status").asText());
    assertTrue(ended.get(1).at("/params/turn/error/message").asText().contains("before the turn was saved"),
        ended.get(1).toString());
    assertTrue(renderAndCheck(renderer.historyEnds(new ThreadUpdate.Live(5, null, null))).isEmpty(), "told once");

    // a turn that ended in the history is not told again
    ThreadEvent.TurnStarted next = events.turnStarted("turn-m", "Again");
    live(next);
    live(events.turnEnded(next, "completed", null, 0, 0));
    assertTrue(renderAndCheck(renderer.historyEnds(new ThreadUpdate.Live(9, null, null))).isEmpty());
  }

  @Test
  void aTurnTheClientWasAnsweredStartedIsToldInterruptedWhenAnotherEntityHasNeverHeardOfIt() {
    ActorRef<ThreadCommand> first = TestInbox.<ThreadCommand>create().getRef();
    ActorRef<ThreadCommand> next = TestInbox.<ThreadCommand>create().getRef();
    // the client was answered turn-a started; the history its subscription began with predates it: nothing to say
    renderer.accepted("turn-a", first);
    assertTrue(renderAndCheck(renderer.historyEnds(new ThreadUpdate.Live(3, first, null))).isEmpty(),
        "the entity that started it tells its end itself");
    // that entity's node died before the start reached the replica or the client; the next entity runs no turn
    List<ObjectNode> ended = renderAndCheck(renderer.historyEnds(new ThreadUpdate.Live(2, next, null)));
    int completed = methods(ended).indexOf("turn/completed");
    assertTrue(completed >= 0, methods(ended).toString());
    assertEquals("turn-a", ended.get(completed).at("/params/turn/id").asText());
    assertEquals("interrupted", ended.get(completed).at("/params/turn/status").asText());
    assertTrue(renderAndCheck(renderer.historyEnds(new ThreadUpdate.Live(2, next, null))).isEmpty(), "told once");

    // the next entity's history lost more: it ends an older turn itself (interrupted), then runs none; the turn
    // this client heard start is told too
    ThreadEvent.TurnStarted older = events.turnStarted("turn-o", "Earlier");
    ThreadEvent.TurnStarted open = events.turnStarted("turn-p", "Now");
    live(open);
    List<ObjectNode> olderEnd = renderAndCheck(renderer.renderReplayed(new ThreadUpdate.Persisted(3,
        events.turnEnded(older, "interrupted", "Legato restarted while the turn was running", 0, 0))));
    assertEquals(List.of("turn/completed"), methods(olderEnd));
    assertEquals("turn-o", olderEnd.get(0).at("/params/turn/id").asText());
    List<ObjectNode> openEnd = renderAndCheck(renderer.historyEnds(new ThreadUpdate.Live(3, next, null)));
    assertEquals("turn-p", openEnd.get(methods(openEnd).indexOf("turn/completed")).at("/params/turn/id").asText());

    // one whose start and end came is not told again, whoever tells the history next
    renderer.accepted("turn-b", next);
    ThreadEvent.TurnStarted started = events.turnStarted("turn-b", "Fast");
    live(started);
    live(events.turnEnded(started, "completed", null, 0, 0));
    assertTrue(renderAndCheck(renderer.historyEnds(new ThreadUpdate.Live(9, first, null))).isEmpty());
  }

  @Test
  void toolCallsShowAsRunningThenDone() {
    ThreadEvent.TurnStarted turn = events.turnStarted("turn-t", "List files");
    live(turn);
    List<ObjectNode> command = renderAndCheck(renderer.toolStarted("turn-t", "call-ls", "bash", "{\"command\":\"ls\"}", "ls"));
    assertEquals("commandExecution", command.get(0).at("/params/item/type").asText());
    assertEquals("ls", command.get(0).at("/params/item/command").asText());
    List<ObjectNode> done = live(events.commandCompleted("turn-t", "call-ls", "a\nb\n", 2));
    assertEquals(List.of("item/completed"), methods(done));
    assertEquals("failed", done.get(0).at("/params/item/status").asText());
    assertEquals("ls", done.get(0).at("/params/item/command").asText());

    List<ObjectNode> search = renderAndCheck(renderer.toolStarted("turn-t", "call-s", "search", "{\"q\":\"x\"}", null));
    assertEquals("inProgress", search.get(0).at("/params/item/status").asText());
    List<ObjectNode> found = live(events.toolCall("turn-t", "call-s", "search", "{\"q\":\"x\"}", "completed", "3 hits"));
    assertEquals(List.of("item/completed"), methods(found));
    assertEquals("3 hits", found.get(0).at("/params/item/contentItems/0/text").asText());
    assertEquals("x", found.get(0).at("/params/item/arguments/q").asText());

    List<ObjectNode> unseen = live(events.toolCall("turn-t", "call-u", "lookup", "not json", "failed", "boom"));
    assertEquals(List.of("item/started", "item/completed"), methods(unseen));
    assertTrue(!unseen.get(1).at("/params/item/success").asBoolean());
  }

  @Test
  void aPendingRequestIsOfferedAgainToAJoiningClient() {
    ThreadEvent.ApprovalRequested approval = events.approval("turn-p", "req-p", "file_change", null, "edit pom.xml");
    List<ObjectNode> offered = live(new ThreadUpdate.PendingRequest(approval));
    assertEquals(List.of("item/fileChange/requestApproval", "thread/status/changed"), methods(offered));
    assertEquals("edit pom.xml", offered.get(0).at("/params/reason").asText());

    ThreadEvent.ApprovalRequested permissions = events.approval("turn-p", "req-x", "permissions", null, "network");
    List<ObjectNode> asked = live(new ThreadUpdate.PendingRequest(permissions));
    assertEquals("item/permissions/requestApproval", asked.get(0).get("method").asText());
  }

  @Test
  void replayedWindowsAreNewsButLiveOnesAreNot() {
    ThreadEvent.TurnStarted turn = events.turnStarted("turn-r", "Hi");
    List<ObjectNode> replayed = new ArrayList<>();
    replayed.addAll(replay(events.persisted(turn)));
    replayed.addAll(replay(events.persisted(events.window("turn-r", "Hel"))));
    replayed.addAll(replay(events.persisted(events.window("turn-r", "lo"))));
    assertEquals(List.of("turn/started", "thread/status/changed", "item/started", "item/completed",
        "item/started", "item/agentMessage/delta", "item/agentMessage/delta"), methods(replayed));
    List<ObjectNode> rest = live(new ThreadUpdate.TextDelta("turn-r", ThreadEvents.answerId("turn-r"), "!"));
    rest.addAll(live(events.message("turn-r", "Hello!")));
    assertEquals(List.of("item/agentMessage/delta", "item/completed"), methods(rest));
    assertEquals("Hello!", rest.get(1).at("/params/item/text").asText());
  }

  @Test
  void aClientThatResumedMidTurnContinuesTheOpenMessage() {
    ThreadEvent.TurnStarted turn = events.turnStarted("turn-m", "Hi");
    events.persisted(events.created("claude-agent"));
    events.persisted(turn);
    events.persisted(events.window("turn-m", "Hel"));
    LiveRenderer resumed = new LiveRenderer(threadId, ThreadEvents.CWD, ThreadHistory.of(events.history()), events::now);
    List<ObjectNode> rest = renderAndCheck(resumed.render(
        new ThreadUpdate.TextDelta("turn-m", ThreadEvents.answerId("turn-m"), "lo")));
    assertEquals(List.of("item/agentMessage/delta"), methods(rest), "the message's item started in the history");
    rest = renderAndCheck(resumed.render(new ThreadUpdate.Persisted(9, events.message("turn-m", "Hello"))));
    assertEquals("Hello", rest.get(0).at("/params/item/text").asText());
  }

  @Test
  void archivingAndAFailedReplayAreTold() {
    assertEquals(List.of("thread/archived"), methods(live(events.archived())));
    assertEquals(List.of("thread/unarchived"),
        methods(live(new ThreadEvent.Unarchived(events.now()))));
    List<ObjectNode> warned = live(new ThreadUpdate.ReplayFailed("disk on fire"));
    assertEquals(List.of("warning"), methods(warned));
    assertTrue(warned.get(0).at("/params/message").asText().contains("disk on fire"));
    assertTrue(live(new ThreadEvent.InstanceReplaced("dep", "inst-2", events.now())).isEmpty());
    assertTrue(live(new ThreadEvent.MemoryExtracted("k", "v", "{}", events.now())).isEmpty());
    assertTrue(live(new ThreadUpdate.Live(3, null)).isEmpty());
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private List<ObjectNode> live(ThreadEvent event) {
    return live(events.persisted(event));
  }

  private List<ObjectNode> live(ThreadUpdate update) {
    return renderAndCheck(renderer.render(update));
  }

  private List<ObjectNode> replay(ThreadUpdate.Persisted persisted) {
    return renderAndCheck(renderer.renderReplayed(persisted));
  }

  /** Sends what the renderer asks as a connection would, checking each message against the schema. */
  private List<ObjectNode> renderAndCheck(List<Outbound> outbound) {
    List<ObjectNode> sent = new ArrayList<>();
    for (Outbound out : outbound) {
      ObjectNode message;
      if (out instanceof Outbound.Notification notification) {
        message = Json.tree(notification.message());
        schema.assertValidNotification(message);
      } else if (out instanceof Outbound.ServerRequest request) {
        assertEquals(threadId, request.threadId());
        int id = requestIds.size();
        requestIds.put(request.legatoRequestId(), id);
        message = Json.tree(request.message(IntNode.valueOf(id)));
        schema.assertValidServerRequest(message);
      } else {
        Outbound.Resolved resolved = (Outbound.Resolved) out;
        Integer id = requestIds.get(resolved.legatoRequestId());
        assertTrue(id != null, "resolves a request that was sent: " + resolved.legatoRequestId());
        message = Json.tree(resolved.message(IntNode.valueOf(id)));
        schema.assertValidNotification(message);
      }
      assertEquals(threadId, message.at("/params/threadId").asText(message.at("/params/thread/id").asText()));
      sent.add(message);
    }
    wire.addAll(sent);
    return sent;
  }

  private static List<String> methods(List<ObjectNode> messages) {
    return messages.stream().map(m -> m.get("method").asText()).toList();
  }

  private long count(String method) {
    return wire.stream().map(m -> m.get("method")).filter(m -> m != null && method.equals(m.asText())).count();
  }
}
