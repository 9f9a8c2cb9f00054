package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;

/**
 * For benchmarks: the message {@code "<count> <size>"} streams {@code count} text deltas of
 * {@code size} characters as fast as the socket takes them (the stream is pulled by the socket,
 * so a slow reader slows the agent instead of filling memory), then complete. No text_final:
 * the whole text could exceed what a frame may carry.
 */
final class LoadAgent implements Agent {
  private static final int MAX_SIZE = 1 << 20;

  @Override
  public Source<OutboundFrame, NotUsed> body(Turn turn) {
    turn.skipTextFinal();
    String[] parts = turn.text().trim().split("\\s+");
    long count;
    int size;
    try {
      if (parts.length != 2) {
        throw new NumberFormatException();
      }
      count = Long.parseLong(parts[0]);
      size = Integer.parseInt(parts[1]);
      if (count < 0 || size < 1 || size > MAX_SIZE) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      turn.fail();
      ObjectNode error = turn.withMessageId();
      error.put("message", "load agent expects \"<count> <size>\" (size 1.." + MAX_SIZE + "), got: " + turn.text());
      error.put("code", "bad_request");
      error.put("retryable", false);
      return Source.single(turn.event("error", error));
    }
    String chunk = "x".repeat(size);
    return Source.unfold(0L, sent -> sent < count
        ? Optional.of(Pair.create(sent + 1, (OutboundFrame) turn.bulkDelta(chunk)))
        : Optional.empty());
  }
}
