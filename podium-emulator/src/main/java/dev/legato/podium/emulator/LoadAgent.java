package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.Optional;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;

/**
 * For benchmarks: the message {@code "<count> <size>"} streams {@code count} text deltas of
 * {@code size} characters as fast as the socket takes them (the stream is pulled by the socket,
 * so a slow reader slows the agent instead of filling memory), then complete. No text_final:
 * the whole text could exceed what a frame may carry.
 *
 * <p>{@code "<count> <size> t"} (timestamp mode) starts each delta with the {@link System#nanoTime()}
 * at which the agent sent it, as {@link #TIMESTAMP_WIDTH} decimal digits ({@code %020d}, so
 * {@link Long#parseLong} reads it back), padded to {@code size}: a client in the same JVM measures
 * the latency of every delta on one clock.
 */
final class LoadAgent implements Agent {
  private static final int MAX_SIZE = 1 << 20;
  /** Characters of the send time at the start of each delta in timestamp mode. */
  static final int TIMESTAMP_WIDTH = 20;

  @Override
  public Source<OutboundFrame, NotUsed> body(Turn turn) {
    turn.skipTextFinal();
    String[] parts = turn.text().trim().split("\\s+");
    long count;
    int size;
    boolean timestamps = parts.length == 3 && parts[2].equals("t");
    try {
      if (parts.length != 2 && !timestamps) {
        throw new NumberFormatException();
      }
      count = Long.parseLong(parts[0]);
      size = Integer.parseInt(parts[1]);
      if (count < 0 || size < (timestamps ? TIMESTAMP_WIDTH : 1) || size > MAX_SIZE) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      turn.fail();
      ObjectNode error = turn.withMessageId();
      error.put("message", "load agent expects \"<count> <size>\" (size 1.." + MAX_SIZE + ") or \"<count> <size> t\""
          + " (size " + TIMESTAMP_WIDTH + ".." + MAX_SIZE + "), got: " + turn.text());
      error.put("code", "bad_request");
      error.put("retryable", false);
      return Source.single(turn.event("error", error));
    }
    String chunk = "x".repeat(size);
    return Source.unfold(0L, sent -> sent < count
        ? Optional.of(Pair.create(sent + 1, (OutboundFrame) turn.bulkDelta(timestamps ? stamped(size) : chunk)))
        : Optional.empty());
  }

  /** {@code size} characters: the send time as {@code %020d}, then 'x'. */
  static String stamped(int size) {
    char[] text = new char[size];
    Arrays.fill(text, TIMESTAMP_WIDTH, size, 'x');
    long now = System.nanoTime();
    long digits = Math.abs(now);
    for (int i = TIMESTAMP_WIDTH - 1; i >= 0; i--) {
      text[i] = (char) ('0' + digits % 10);
      digits /= 10;
    }
    if (now < 0) {
      text[0] = '-'; // %020d: the sign takes the first place (nanoTime stays far below 19 digits)
    }
    return new String(text);
  }
}
