package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/**
 * Renders frames for one socket in the configured spelling. It counts frames so that MIXED varies
 * per frame yet gives the same sequence on every run.
 */
final class FrameWriter {
  private static final Spelling[] MIXED_LAYOUTS = {
    Spelling.DOTTED, Spelling.SNAKE, Spelling.MESSAGE_TYPE_ONLY, Spelling.EVENT_TYPE_ONLY
  };
  /** The contract's aliases of one kind; MIXED rotates through them. */
  private static final Map<String, String[]> ALIASES = Map.of(
      "stream_start", new String[] {"stream_start", "created"},
      "text_delta", new String[] {"text_delta", "update", "stream_update"},
      "complete", new String[] {"complete", "stream_end", "stream_complete"});

  private final Spelling spelling;
  private long frames;

  FrameWriter(Spelling spelling) {
    this.spelling = spelling;
  }

  String render(OutboundFrame frame) {
    if (frame instanceof OutboundFrame.Raw raw) {
      return raw.text();
    }
    return Json.write(render((OutboundFrame.Event) frame));
  }

  private ObjectNode render(OutboundFrame.Event event) {
    Spelling layout = spelling;
    String kind = event.kind();
    if (spelling == Spelling.MIXED) {
      long n = frames++;
      layout = MIXED_LAYOUTS[(int) (n % MIXED_LAYOUTS.length)];
      long round = n / MIXED_LAYOUTS.length;
      String[] aliases = ALIASES.get(kind);
      if (aliases != null) {
        kind = aliases[(int) (round % aliases.length)];
      }
      if (layout != Spelling.DOTTED && round % 2 == 1) {
        kind = snake(kind);
      }
    }
    if (layout == Spelling.SNAKE) {
      kind = snake(kind);
    }
    ObjectNode out = Json.object();
    out.put("type", "update");
    if (layout != Spelling.EVENT_TYPE_ONLY) {
      out.put("messageType", kind);
    }
    ObjectNode content = out.putObject("content");
    if (layout != Spelling.MESSAGE_TYPE_ONLY) {
      content.put("event_type", kind);
    }
    content.setAll(event.content());
    return out;
  }

  /** The snake spelling of a kind; thinking.progress keeps its legacy name. */
  static String snake(String kind) {
    return kind.equals("thinking.progress") ? "thinking_update" : kind.replace('.', '_');
  }
}
