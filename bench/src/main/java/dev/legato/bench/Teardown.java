package dev.legato.bench;

import dev.legato.storage.StorageLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Ends a benchmark's actor system and removes its scratch folders without ever failing the run: on a slow
 * machine closing a thousand databases outlasts Pekko's default shutdown phases, and figures already
 * measured must still be printed.
 */
final class Teardown {
  /** Longer than the storage's own bound on closing its databases (30 s) at shutdown. */
  static final Duration TERMINATION = Duration.ofMinutes(3);

  private Teardown() {}

  /** Terminates the system and waits for it; says so, and goes on, when it takes longer than {@link #TERMINATION}. */
  static void terminate(ActorSystem<?> system) throws InterruptedException {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(TERMINATION.toSeconds(), TimeUnit.SECONDS);
    } catch (TimeoutException | ExecutionException e) {
      System.out.printf("  warning: actor system %s did not terminate within %d s (%s); going on%n", system.name(),
          TERMINATION.toSeconds(), e);
    }
  }

  /** Removes a folder; a failure is reported in one line, never thrown. */
  static void remove(Path folder) {
    try {
      StorageLayout.deleteTree(folder);
    } catch (IOException | RuntimeException e) {
      System.out.printf("  warning: could not remove %s: %s%n", folder, e);
    }
  }
}
