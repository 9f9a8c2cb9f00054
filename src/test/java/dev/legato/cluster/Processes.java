package dev.legato.cluster;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Every process the cluster tests start, so that none outlives them: {@link #stopAll} (the harness calls it when
 * the tests end) and a JVM shutdown hook (a failed or interrupted run) kill whatever still runs, paused ones too.
 */
final class Processes {
  private static final Set<Process> started = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(Processes::stopAll, "cluster-tests-processes"));
  }

  private Processes() {}

  static Process started(Process process) {
    started.add(process);
    return process;
  }

  /** Kills every process started and still running (a SIGKILL ends a stopped process too) and waits for it. */
  static void stopAll() {
    for (Process process : started) {
      process.destroyForcibly();
    }
    for (Process process : started) {
      try {
        process.waitFor(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    started.removeIf(process -> !process.isAlive());
  }
}
