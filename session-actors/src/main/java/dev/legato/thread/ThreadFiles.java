package dev.legato.thread;

import dev.legato.storage.SessionStorage;
import dev.legato.storage.StorageLayout;
import java.nio.file.Files;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;

/**
 * Whether a thread exists on this node, answered from its files without waking its entity: asking the
 * entity would start it, and recovering an id that never existed would create its files. Opens nothing.
 */
public final class ThreadFiles {
  private ThreadFiles() {}

  /**
   * True when the thread's {@code session.db} is in this node's data directory: the thread was created
   * (archived ones too), or is prepared to be; deleted threads and ids never used have none. Checked on
   * the blocking dispatcher.
   */
  public static CompletionStage<Boolean> exist(ActorSystem<?> system, UUID threadId) {
    StorageLayout layout = SessionStorage.get(system).layout();
    return CompletableFuture.supplyAsync(
        () -> Files.isRegularFile(layout.threadDirectory(threadId).resolve(StorageLayout.SESSION_FILE)),
        system.dispatchers().lookup(DispatcherSelector.blocking()));
  }
}
