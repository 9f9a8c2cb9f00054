package dev.legato.podium.emulator;

import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A deterministic scripted agent. For each user message it returns the frames of the turn's body
 * as a stream; the frames that open and close a turn (stream_start, text_final, complete, and the
 * interrupted ending) are added by {@link Turn}, so every agent ends its turns the same way.
 */
sealed interface Agent permits EchoAgent, CoderAgent, LoadAgent {
  Source<OutboundFrame, NotUsed> body(Turn turn);
}
