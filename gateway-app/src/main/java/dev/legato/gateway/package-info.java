/** Legato's front door: the Codex app-server protocol over WebSocket, auth, operations routes and {@code main}. */
package dev.legato.gateway;
