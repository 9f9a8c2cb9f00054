package dev.legato.thread;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.internal.BehaviorImpl;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * Answers the clients waiting on a journal write that failed, before the entity stops. Pekko Persistence
 * stops an entity whose write fails, and the reply its command waited for would otherwise never come: the
 * client heard only a timeout, much later. The entity says who waits on its write in hand ({@link #awaiting});
 * when the write fails they hear why at once ("storage: disk full"), nothing is recorded, and the next
 * message recovers the entity from what was written before. Used by threads and registries.
 */
public final class FailedWrites extends BehaviorInterceptor<Object, Object> {
  /** The message a client reads starts so: the failure is the server's, not the request's (see {@link FailureKind}). */
  static final String PREFIX = "storage: ";

  private final List<ActorRef<? extends StatusReply<?>>> waiting = new ArrayList<>();

  public FailedWrites() {
    super(Object.class); // the journal's answers too, not only the entity's commands
  }

  /** Wraps an entity so that a failed write answers whoever waits on it. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  public <T> Behavior<T> around(Behavior<T> entity) {
    return (Behavior<T>) (Behavior) Behaviors.intercept(() -> this, (Behavior<Object>) (Behavior) entity);
  }

  /** {@code replyTo} waits on the write the entity is about to make. */
  public void awaiting(ActorRef<? extends StatusReply<?>> replyTo) {
    waiting.add(replyTo);
  }

  /** The entity took a new command: the writes before it are durable, their waiters answered. */
  public void settled() {
    waiting.clear();
  }

  @Override
  public Behavior<Object> aroundReceive(TypedActorContext<Object> context, Object message, ReceiveTarget<Object> target) {
    Behavior<Object> next;
    try {
      next = target.apply(context, message);
    } catch (RuntimeException failure) {
      answer(failure);
      throw failure;
    }
    // Pekko Persistence's stopping supervisor does not throw: it hands back a failed behavior with the cause.
    Object outcome = next;
    if (outcome instanceof BehaviorImpl.FailedBehavior failed) {
      answer(failed.cause());
    }
    return next;
  }

  private void answer(Throwable failure) {
    if (!waiting.isEmpty() && isWriteFailure(failure)) {
      String reason = reason(failure);
      waiting.forEach(replyTo -> tell(replyTo, StatusReply.error(reason)));
      waiting.clear();
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static void tell(ActorRef<? extends StatusReply<?>> replyTo, StatusReply<?> reply) {
    ((ActorRef) replyTo).tell(reply);
  }

  private static boolean isWriteFailure(Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      String name = cause.getClass().getSimpleName();
      if (name.equals("JournalFailureException") || name.equals("EventRejectedException")) {
        return true;
      }
    }
    return false;
  }

  /**
   * What a client reads: the disk being full said plainly, else the database's own words (never a path:
   * the server's directories are none of a client's business).
   */
  static String reason(Throwable failure) {
    String detail = null;
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      String message = String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT);
      if (message.contains("sqlite_full") || message.contains("disk is full") || message.contains("no space left")) {
        return PREFIX + "disk full; nothing was recorded (try again once there is space)";
      }
      if (cause instanceof SQLException || cause instanceof java.io.IOException) {
        detail = cause.getMessage();
      }
    }
    return PREFIX + "the write failed and nothing was recorded" + (detail == null ? "" : " (" + detail + ")");
  }
}
