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
 * moments, by groups of threads told apart by their names. Threads that ended in between are missed.
 */
final class ThreadCpu {
  private final Map<Long, Long> nanosByThread;
  private final Map<Long, String> names;

  private ThreadCpu(Map<Long, Long> nanosByThread, Map<Long, String> names) {
    this.nanosByThread = nanosByThread;
    this.names = names;
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
    return new ThreadCpu(nanos, names);
  }

  /**
   * CPU seconds each group used from {@code before} to this moment, in the order of {@code groups}; a thread
   * counts in the first group whose test its name passes, or in {@code "other"}.
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
    return seconds;
  }
}
