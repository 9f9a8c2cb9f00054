package dev.legato.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The CPU time of this JVM's threads at one moment, so a benchmark can say where its cores went between two
 * moments, by groups of threads told apart by their names; and the whole process's, so that what no Java thread
 * used (the garbage collector, the JIT compiler) shows too. Threads that ended in between are missed.
 */
final class ThreadCpu {
  /** The group of what the process used beyond its Java threads. */
  static final String JVM = "GC and JIT";

  private final Map<Long, Long> nanosByThread;
  private final Map<Long, String> names;
  private final long processNanos;

  private ThreadCpu(Map<Long, Long> nanosByThread, Map<Long, String> names, long processNanos) {
    this.nanosByThread = nanosByThread;
    this.names = names;
    this.processNanos = processNanos;
  }

  static ThreadCpu now() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<Long, Long> nanos = new HashMap<>();
    Map<Long, String> names = new HashMap<>();
    for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info == null) {
        continue; // ended meanwhile
      }
      long cpu = threads.getThreadCpuTime(info.getThreadId());
      if (cpu >= 0) {
        nanos.put(info.getThreadId(), cpu);
        names.put(info.getThreadId(), info.getThreadName());
      }
    }
    long process = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime() : -1;
    return new ThreadCpu(nanos, names, process);
  }

  /**
   * CPU seconds each group used from {@code before} to this moment, in the order of {@code groups}; a thread
   * counts in the first group whose test its name passes, or in {@code "other"}; last, {@link #JVM}: the process's
   * CPU beyond its Java threads' (absent where the JVM does not tell the process's CPU).
   */
  Map<String, Double> since(ThreadCpu before, Map<String, Predicate<String>> groups) {
    Map<String, Double> seconds = new LinkedHashMap<>();
    groups.keySet().forEach(group -> seconds.put(group, 0.0));
    seconds.put("other", 0.0);
    nanosByThread.forEach((id, nanos) -> {
      String name = names.get(id);
      String group = groups.entrySet().stream().filter(g -> g.getValue().test(name)).map(Map.Entry::getKey)
          .findFirst().orElse("other");
      seconds.merge(group, (nanos - before.nanosByThread.getOrDefault(id, 0L)) / 1e9, Double::sum);
    });
    if (processNanos >= 0 && before.processNanos >= 0) {
      double threads = seconds.values().stream().mapToDouble(Double::doubleValue).sum();
      seconds.put(JVM, Math.max(0, (processNanos - before.processNanos) / 1e9 - threads));
    }
    return seconds;
  }
}
