/**
 * The Codex app-server v2 dialect: Legato's thread events rendered as Codex JSON. The shapes are records
 * ({@link dev.legato.gateway.protocol.CodexThread}, {@link dev.legato.gateway.protocol.CodexTurn},
 * {@link dev.legato.gateway.protocol.CodexItem}, the notifications and requests) written by the module's one
 * mapper ({@link dev.legato.gateway.protocol.Json}); {@link dev.legato.gateway.protocol.CodexDialect} builds them
 * from Legato's facts, {@link dev.legato.gateway.protocol.ThreadHistory} from a thread's history and
 * {@link dev.legato.gateway.protocol.LiveRenderer} from its live updates, both folding a turn's items with
 * {@link dev.legato.gateway.protocol.TurnItems}. Pure: no actors, no I/O.
 */
package dev.legato.gateway.protocol;
