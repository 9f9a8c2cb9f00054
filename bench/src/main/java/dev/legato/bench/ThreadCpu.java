package dev.legato.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The CPU time of this JVM's threads at one moment, so a benchmark can say where its cores went between two
 * moments, by groups of threads told apart by their names; and the whole process's, so that what no Java thread
 * used shows too: on Linux split into the garbage collector's threads, the JIT compiler's, and the rest (the VM's
 * own threads, and Java threads that ended in between, whose time the JVM no longer tells).
 */
final class ThreadCpu {
  /** The group of what the process used beyond its Java threads, where the JVM's own threads cannot be told apart. */
  static final String JVM = "GC and JIT";
  static final String GC = "GC";
  static final String JIT = "JIT";
  static final String REST = "VM and ended threads";
  /** Linux's clock ticks a second, in which /proc tells a thread's CPU time (USER_HZ, 100 on every Linux here). */
  private static final double TICKS_PER_SECOND = 100;

  private final Map<Long, Long> nanosByThread;
  private final Map<Long, String> names;
  private final long processNanos;
  /** CPU ticks of the JVM's own garbage-collector and compiler threads (null where /proc does not tell). */
  private final Map<String, Long> vmTicks;

  private ThreadCpu(Map<Long, Long> nanosByThread, Map<Long, String> names, long processNanos, Map<String, Long> vmTicks) {
    this.nanosByThread = nanosByThread;
    this.names = names;
    this.processNanos = processNanos;
    this.vmTicks = vmTicks;
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
    return new ThreadCpu(nanos, names, process, vmTicks());
  }

  /**
   * From {@code /proc/self/task/<id>/stat}: the user and system ticks of HotSpot's collector threads ({@code GC
   * Thread#n}, {@code G1 ...}) and compiler threads ({@code C1/C2 CompilerThre...}); null off Linux.
   */
  private static Map<String, Long> vmTicks() {
    Path tasks = Path.of("/proc/self/task");
    if (!Files.isDirectory(tasks)) {
      return null;
    }
    Map<String, Long> ticks = new HashMap<>(Map.of(GC, 0L, JIT, 0L));
    try (Stream<Path> all = Files.list(tasks)) {
      all.forEach(task -> {
        String stat;
        try {
          stat = Files.readString(task.resolve("stat"));
        } catch (IOException | UncheckedIOException ended) {
          return;
        }
        // pid (comm) state ppid ... : the name may hold spaces and parentheses, so it ends at the last ')'
        int open = stat.indexOf('(');
        int close = stat.lastIndexOf(')');
        if (open < 0 || close < open) {
          return;
        }
        String name = stat.substring(open + 1, close);
        String group = name.startsWith("GC Thread") || name.startsWith("G1 ") ? GC
            : name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre") ? JIT : null;
        if (group != null) {
          String[] fields = stat.substring(close + 2).split(" ");
          // after the name: state(0) ... utime(11) stime(12)
          ticks.merge(group, Long.parseLong(fields[11]) + Long.parseLong(fields[12]), Long::sum);
        }
      });
    } catch (IOException | UncheckedIOException e) {
      return null;
    }
    return ticks;
  }

  /**
   * CPU seconds each group used from {@code before} to this moment, in the order of {@code groups}; a thread
   * counts in the first group whose test its name passes, or in {@code "other"}; last, the process's CPU beyond its
   * Java threads': {@link #GC}, {@link #JIT} and {@link #REST} on Linux, else {@link #JVM} (absent where the JVM
   * does not tell the process's CPU).
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
      double beyond = Math.max(0, (processNanos - before.processNanos) / 1e9 - threads);
      if (vmTicks != null && before.vmTicks != null) {
        double gc = (vmTicks.get(GC) - before.vmTicks.get(GC)) / TICKS_PER_SECOND;
        double jit = (vmTicks.get(JIT) - before.vmTicks.get(JIT)) / TICKS_PER_SECOND;
        seconds.put(GC, gc);
        seconds.put(JIT, jit);
        seconds.put(REST, Math.max(0, beyond - gc - jit));
      } else {
        seconds.put(JVM, beyond);
      }
    }
    return seconds;
  }
}
