package dev.legato.storage.replica;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Reads from the target on other threads, side by side: a read started as a future, and its answer (or its
 * {@link IOException}) taken back where it is needed. What a restore uses to make fewer round trips one after
 * another.
 */
final class AsyncReads {
  private AsyncReads() {}

  /** {@code read} started on {@code readers}; a replication that is stopping fails it with an {@link IOException}. */
  static <T> CompletableFuture<T> start(Executor readers, PeerLogs.IoSupplier<T> read) {
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      readers.execute(() -> {
        try {
          result.complete(read.get());
        } catch (IOException | RuntimeException e) {
          result.completeExceptionally(e);
        }
      });
    } catch (RejectedExecutionException closing) {
      result.completeExceptionally(new IOException("the replication is stopping"));
    }
    return result;
  }

  /** What {@code read} read, waiting for it; its failure thrown as it was. */
  static <T> T answer(CompletableFuture<T> read) throws IOException {
    try {
      return read.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw e;
    }
  }
}
