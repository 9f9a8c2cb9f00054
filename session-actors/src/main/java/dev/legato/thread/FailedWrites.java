package dev.legato.thread;

import com.typesafe.config.Config;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.BackoffSupervisorStrategy;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.JournalPersistFailed;
import org.apache.pekko.persistence.typed.JournalPersistRejected;
import org.apache.pekko.persistence.typed.javadsl.SignalHandlerBuilder;

/**
 * Answers the clients waiting on a journal write that failed, at once. Pekko Persistence stops (or, with
 * {@code onPersistFailure}, restarts) an entity whose write fails, and the reply its command waited for
 * would otherwise never come: the client heard only a timeout, much later. The entity says who waits on its
 * write in hand ({@link #awaiting}); when the journal reports the write failed or rejected (the
 * {@link JournalPersistFailed} / {@link JournalPersistRejected} signals, which come before the entity stops
 * or restarts) they hear why ("storage: disk full"); nothing is recorded, and the entity recovers from what
 * was written before. Used by threads and registries.
 */
public final class FailedWrites {
  /** The message a client reads starts so: the failure is the server's, not the request's (see {@link FailureKind}). */
  static final String PREFIX = "storage: ";

  private final List<ActorRef<? extends StatusReply<?>>> waiting = new ArrayList<>();

  /** {@code replyTo} waits on the write the entity is about to make. */
  public void awaiting(ActorRef<? extends StatusReply<?>> replyTo) {
    waiting.add(replyTo);
  }

  /** The entity took a new command: the writes before it are durable, their waiters answered. */
  public void settled() {
    waiting.clear();
  }

  /** Whoever waits on the write in hand hears that it failed, and why (the reason is returned too). */
  public String failed(Throwable failure) {
    String reason = reason(failure);
    waiting.forEach(replyTo -> tell(replyTo, StatusReply.error(reason)));
    waiting.clear();
    return reason;
  }

  /** An entity's signal handler with both of the journal's failure signals answered by {@link #failed}. */
  public <S> SignalHandlerBuilder<S> answering(SignalHandlerBuilder<S> signals) {
    return signals.onSignal(JournalPersistFailed.class, (state, signal) -> failed(signal.getFailure()))
        .onSignal(JournalPersistRejected.class, (state, signal) -> failed(signal.getFailure()));
  }

  /**
   * Pekko's onPersistFailure for an entity that restarts in place after a failed write: a backoff from
   * {@code restart-after-failed-write.min-backoff} doubling up to {@code max-backoff} ({@code settings}' keys).
   */
  static BackoffSupervisorStrategy restartWithBackoff(Config settings) {
    Config backoff = settings.getConfig("restart-after-failed-write");
    return SupervisorStrategy.restartWithBackoff(backoff.getDuration("min-backoff"), backoff.getDuration("max-backoff"),
        backoff.getDouble("random-factor"));
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static void tell(ActorRef<? extends StatusReply<?>> replyTo, StatusReply<?> reply) {
    ((ActorRef) replyTo).tell(reply);
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
