package dev.legato.thread;

import dev.legato.podium.PodiumClient;
import dev.legato.storage.SessionStorage;
import dev.legato.thread.Signal.RestoreFinished;
import dev.legato.thread.ThreadCommand.Request;
import dev.legato.thread.ThreadCommand.Restore;
import dev.legato.thread.ThreadCommand.RestoreDone;
import java.util.UUID;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.pattern.StatusReply;

/**
 * An operator's restore of a thread: its files replaced with its replica's state at a moment, by the
 * storage, in the background. While they are replaced nothing may write them: requests are refused with a
 * reason. Once restored, the entity stops (the thread that was is no longer on disk) and its next command
 * recovers the restored state; the agent's instance, which remembers a conversation that is no longer the
 * thread's, is let go. A failed restore leaves the files as they were (they are replaced only whole).
 */
final class Restoring {
  private final UUID threadId;
  private final ActorContext<ThreadCommand> context;
  private final SessionStorage storage;
  private final Instances instances;

  Restoring(UUID threadId, ActorContext<ThreadCommand> context, SessionStorage storage, Instances instances) {
    this.threadId = threadId;
    this.context = context;
    this.storage = storage;
    this.instances = instances;
  }

  /** Has the storage replace the files; {@link RestoreFinished} comes back. */
  void start(Restore restore) {
    context.pipeToSelf(storage.restoreThread(threadId, restore.at()), (result, error) -> error != null
        ? new RestoreFinished(restore, null, FailureKind.STORAGE.describe("the restore failed: "
            + PodiumClient.unwrap(error).getMessage()))
        : new RestoreFinished(restore, new RestoreDone(result.generation(),
            result.time() == null ? null : result.time().toString(), result.problem()), null));
  }

  /** What the restore came to, as the operator hears it; logged, and a restored thread's old agent let go. */
  StatusReply<RestoreDone> finished(ThreadState state, RestoreFinished finished) {
    if (finished.error() != null) {
      context.getLog().warn("thread {}: {}", threadId, finished.error());
      return StatusReply.error(finished.error());
    }
    if (state.info() != null) {
      instances.stop(state.info().instanceId());
    }
    RestoreDone done = finished.done();
    context.getLog().info("thread {}: restored to {} (generation {}){}", threadId, done.stateAt(), done.generation(),
        done.problem() == null ? "" : "; the replica is damaged: " + done.problem());
    return StatusReply.success(done);
  }

  /** A request that comes while the files are replaced is refused; anything else is dropped. */
  static void refuse(ThreadCommand command) {
    if (command instanceof Request request) {
      request.replyTo().<StatusReply<Object>>unsafeUpcast()
          .tell(StatusReply.error("the thread is being restored; try again in a moment"));
    }
  }
}
