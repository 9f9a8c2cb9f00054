package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** What the emulator writes on an agent socket, in order. */
sealed interface OutboundFrame {

  /** A native event; its kind is canonical (dotted) and is spelled when the frame is written. */
  record Event(String kind, ObjectNode content) implements OutboundFrame {}

  /** Text sent exactly as given: pongs and deliberately broken frames. */
  record Raw(String text) implements OutboundFrame {}
}
