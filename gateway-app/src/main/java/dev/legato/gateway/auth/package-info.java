/**
 * Who is on the other end of a connection: loopback trust, static API keys and JWT bearer tokens
 * turned into a tenant, plus the browser Origin allow-list. Entry point: {@link
 * dev.legato.gateway.auth.GatewayAuth}; for Pekko HTTP routes, {@link
 * dev.legato.gateway.auth.AuthDirectives}.
 */
package dev.legato.gateway.auth;
