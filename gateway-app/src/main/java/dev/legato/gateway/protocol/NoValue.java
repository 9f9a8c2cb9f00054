package dev.legato.gateway.protocol;

/**
 * The type of a member a Codex server writes and Legato has no value for: it has no values, so the member is
 * always null, and is written as null (Codex's shapes require many such members).
 */
public enum NoValue {}
