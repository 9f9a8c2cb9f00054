package dev.legato.thread;

import java.util.UUID;

/**
 * A turn started in a tenant's thread: published on the node's event stream, so that whoever lists the
 * tenant's threads (its registry) learns the latest prompt and activity without the thread knowing it.
 */
public record TurnActivity(UUID threadId, String tenant, String prompt, long at) {}
