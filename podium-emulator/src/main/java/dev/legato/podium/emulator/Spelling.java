package dev.legato.podium.emulator;

/**
 * How the emulator spells the kind of an event frame. Real Podium deployments differ here, so the
 * adapter must read either field and either spelling; this setting lets tests prove it does.
 */
public enum Spelling {
  /** {@code messageType} and {@code content.event_type}, dotted kinds ({@code tool.call_start}). */
  DOTTED,
  /** Both fields, snake kinds ({@code tool_call_start}; {@code thinking_update} for thinking.progress). */
  SNAKE,
  /** Only {@code messageType}; no {@code content.event_type}. */
  MESSAGE_TYPE_ONLY,
  /** Only {@code content.event_type}; no {@code messageType}. */
  EVENT_TYPE_ONLY,
  /** Varies per frame, deterministically, among the others and among the documented aliases. */
  MIXED;

  /** Parses the command-line spelling names: dotted, snake, message-type, event-type, mixed. */
  public static Spelling parse(String name) {
    return switch (name.trim().toLowerCase(java.util.Locale.ROOT).replace('_', '-')) {
      case "dotted" -> DOTTED;
      case "snake" -> SNAKE;
      case "message-type", "message-type-only" -> MESSAGE_TYPE_ONLY;
      case "event-type", "event-type-only" -> EVENT_TYPE_ONLY;
      case "mixed" -> MIXED;
      default -> throw new IllegalArgumentException(
          "unknown spelling '" + name + "' (dotted, snake, message-type, event-type, mixed)");
    };
  }
}
