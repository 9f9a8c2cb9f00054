package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Says the user's text back word by word. {@code /history} summarises the history it was given
 * (what a re-spawned instance knows); {@code /recall} lists the memories in its config.
 */
final class EchoAgent implements Agent {

  @Override
  public Source<OutboundFrame, NotUsed> body(Turn turn) {
    String text = turn.text().trim();
    if (text.equals("/history")) {
      return turn.say(history(turn));
    }
    if (text.equals("/recall")) {
      return turn.say(recall(turn.config()));
    }
    return turn.say(turn.text());
  }

  private static String history(Turn turn) {
    List<String> said = turn.history().stream()
        .filter(m -> m.role().equals("user"))
        .map(Turn.HistoryMessage::text)
        .toList();
    return said.isEmpty() ? "you said nothing yet" : "you said: " + String.join(" | ", said);
  }

  static String recall(JsonNode config) {
    List<String> memories = new ArrayList<>();
    for (JsonNode memory : config.path("memories")) {
      memories.add(memory.path("key").asText() + "=" + memory.path("value").asText());
    }
    return memories.isEmpty() ? "I remember nothing" : "I remember: " + String.join("; ", memories);
  }
}
