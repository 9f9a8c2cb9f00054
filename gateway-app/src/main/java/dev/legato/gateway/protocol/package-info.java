/**
 * The Codex app-server v2 dialect: Legato's thread events rendered as Codex JSON ({@link
 * dev.legato.gateway.protocol.CodexDialect} for the shapes, {@link dev.legato.gateway.protocol.ThreadHistory}
 * for a thread's history, {@link dev.legato.gateway.protocol.LiveRenderer} for its live updates, both folding a
 * turn's items with {@link dev.legato.gateway.protocol.TurnItems}). Pure: no actors, no I/O.
 */
package dev.legato.gateway.protocol;
