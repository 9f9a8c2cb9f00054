package dev.legato.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.legato.podium.AgentEvent;
import dev.legato.thread.ThreadEvent.AgentMessage;
import dev.legato.thread.ThreadEvent.AgentMessageDelta;
import dev.legato.thread.ThreadEvent.CommandCompleted;
import dev.legato.thread.ThreadEvent.ToolCallRecorded;
import dev.legato.thread.ThreadEvent.TurnEnded;
import dev.legato.thread.ThreadState.Turn;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The turn recorder on its own: agent events in, thread events and live updates out, the text window kept. */
class TurnRecorderTest {
  private static final Turn TURN = new Turn("turn_1", "msg_1", 1000);
  private static final String ITEM = TurnRecorder.itemId(TURN);
  private static final AgentEvent.Usage USAGE = new AgentEvent.Usage(3, 4, null, null);

  private final TurnRecorder recorder = new TurnRecorder(Duration.ofMillis(100), 1 << 20);

  private TurnRecorder.Recorded record(long nanos, AgentEvent... events) {
    return recorder.record(TURN, false, List.of(events), true, 5000, nanos);
  }

  @Test
  void textOfOneBatchIsOneLiveUpdateAndWaitsForItsWindow() {
    var recorded = record(0, new AgentEvent.MessageStarted("msg_1"), new AgentEvent.TextDelta("msg_1", "Hel"),
        new AgentEvent.TextDelta("msg_1", "lo"));
    assertEquals(List.of(new ThreadUpdate.TextDelta("turn_1", ITEM, "Hello")), recorded.live());
    assertEquals(2, recorded.deltas());
    assertTrue(recorded.events().isEmpty(), "the window is still open");
    assertTrue(recorder.armFlush(), "a timer closes the window on time");
    assertFalse(recorder.armFlush(), "one timer at a time");
    assertEquals(List.of(new AgentMessageDelta("turn_1", ITEM, "Hello", 7000)), recorder.flush(TURN, 7000));
    assertTrue(recorder.flush(TURN, 8000).isEmpty(), "nothing streamed since");
  }

  @Test
  void aClosedWindowIsSavedWithTheBatchThatFindsItOver() {
    record(0, new AgentEvent.TextDelta("msg_1", "one "));
    var later = record(Duration.ofMillis(150).toNanos(), new AgentEvent.TextDelta("msg_1", "two"));
    assertEquals(List.of(new AgentMessageDelta("turn_1", ITEM, "one two", 5000)), later.events());
  }

  @Test
  void aBatchTooLargeForTheWindowIsSavedAtOnce() {
    TurnRecorder small = new TurnRecorder(Duration.ofSeconds(10), 4);
    var recorded = small.record(TURN, false, List.of(new AgentEvent.TextDelta("msg_1", "hello")), false, 5000, 0);
    assertEquals(List.of(new AgentMessageDelta("turn_1", ITEM, "hello", 5000)), recorded.events());
    assertTrue(recorded.live().isEmpty(), "nobody follows: no live text is gathered");
    assertEquals(1, recorded.deltas(), "deltas count all the same");
  }

  @Test
  void theEndPersistsTheWholeMessageAndDropsWhatFollowsInTheBatch() {
    var recorded = record(0, new AgentEvent.TextDelta("msg_1", "Done."),
        new AgentEvent.MessageCompleted("msg_1", USAGE, "end_turn"),
        new AgentEvent.TextDelta("msg_1", "stray"));
    assertEquals(List.of(new AgentMessage("turn_1", ITEM, "Done.", 5000),
        new TurnEnded("turn_1", "completed", null, 1000, 3, 4, 5000)), recorded.events());
    assertEquals(List.of(new ThreadUpdate.TextDelta("turn_1", ITEM, "Done.")), recorded.live());
  }

  @Test
  void liveUpdatesKeepTheOrderTheAgentSpokeIn() {
    var recorded = record(0, new AgentEvent.TextDelta("msg_1", "Let me look."),
        new AgentEvent.Thinking("t1", AgentEvent.Phase.PROGRESS, "hmm"),
        new AgentEvent.TextDelta("msg_1", " Found it."));
    assertEquals(List.of(new ThreadUpdate.TextDelta("turn_1", ITEM, "Let me look."),
        new ThreadUpdate.ReasoningDelta("turn_1", "t1", "hmm"),
        new ThreadUpdate.TextDelta("turn_1", ITEM, " Found it.")), recorded.live());
  }

  @Test
  void anEventIsPersistedAfterTheTextStreamedBeforeIt() {
    var recorded = record(0, new AgentEvent.TextDelta("msg_1", "Running it."),
        new AgentEvent.ToolCallStarted("call_1", "shell", "{\"command\":[\"ls\",\"-la\"]}"),
        new AgentEvent.TerminalOutput("call_1", "a b"),
        new AgentEvent.TerminalCompleted("call_1", 0, 12L),
        new AgentEvent.ToolResult("call_1", "a b", false));
    assertEquals(List.of(new AgentMessageDelta("turn_1", ITEM, "Running it.", 5000),
        new CommandCompleted("turn_1", "call_1", "a b", 0, 12L, 5000, "ls -la")), recorded.events(),
        "a tool call that became a command is told by the command alone");
    assertEquals(new ThreadUpdate.ToolStarted("turn_1", "call_1", "shell", "{\"command\":[\"ls\",\"-la\"]}", "ls -la"),
        recorded.live().get(1));
  }

  @Test
  void aPlainToolCallIsRecordedWithItsNameAndArguments() {
    var recorded = record(0, new AgentEvent.ToolCall("call_2", "search", "{\"q\":\"x\"}"),
        new AgentEvent.ToolResult("call_2", "found", true));
    assertEquals(List.of(new ToolCallRecorded("turn_1", "call_2", "search", "{\"q\":\"x\"}", "failed", "found", 5000)),
        recorded.events());
  }

  @Test
  void aTurnEndedWithoutItsAgentKeepsItsTextAndIgnoresTheAgentsLateWords() {
    record(0, new AgentEvent.TextDelta("msg_1", "partial"));
    assertEquals(List.of(new AgentMessageDelta("turn_1", ITEM, "partial", 6000),
            new TurnEnded("turn_1", "failed", "gone", 1000, 0, 0, 6000)),
        recorder.endWithoutAgent(TURN, "failed", "gone", 6000));
    var late = record(0, new AgentEvent.TextDelta("msg_1", "late"), new AgentEvent.MessageCompleted("msg_1", USAGE, null));
    assertTrue(late.events().isEmpty() && late.live().isEmpty(), "the abandoned message feeds no later turn");
  }

  @Test
  void aJoiningFollowerCatchesUpWithWhatIsNotPersistedYet() {
    record(0, new AgentEvent.TextDelta("msg_1", "so far"), new AgentEvent.Thinking("t1", AgentEvent.Phase.PROGRESS, "why"),
        new AgentEvent.TerminalOutput("call_1", "out"));
    assertEquals(List.of(new ThreadUpdate.TextDelta("turn_1", ITEM, "so far"),
        new ThreadUpdate.ReasoningDelta("turn_1", "t1", "why"),
        new ThreadUpdate.CommandOutputDelta("turn_1", "call_1", "out")), recorder.catchUp(TURN));
    recorder.turnStarted();
    assertTrue(recorder.catchUp(TURN).isEmpty(), "a new turn starts clean");
  }

  @Test
  void theCommandOfAToolCallIsReadFromItsArguments() {
    assertEquals("git status", TurnRecorder.commandOf("{\"command\":\"git status\"}"));
    assertEquals("ls -la", TurnRecorder.commandOf("{\"command\":[\"ls\",\"-la\"]}"));
    assertNull(TurnRecorder.commandOf("{\"command\": not json"));
    assertNull(TurnRecorder.commandOf("{\"path\":\"x\"}"));
  }
}
