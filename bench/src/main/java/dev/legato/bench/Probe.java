package dev.legato.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What a benchmark reads off a process it started: open-file limit, heap (through {@code jcmd}), resident set. */
final class Probe {
  private Probe() {}

  /** Raises the open-file limit of a process where allowed (root, prlimit); answers the limit it has. */
  static long allowOpenFiles(long pid, long wanted) {
    if (openFiles(pid) < wanted) {
      try {
        new ProcessBuilder("prlimit", "--pid", Long.toString(pid), "--nofile=" + wanted + ":" + wanted)
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
      } catch (IOException | InterruptedException e) {
        // not allowed or not there: the limit stays, and the idle phase fits itself into it
      }
    }
    return openFiles(pid);
  }

  static long openFiles(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/limits"))) {
        if (line.startsWith("Max open files")) {
          String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
          return soft.equals("unlimited") ? Long.MAX_VALUE / 4 : Long.parseLong(soft);
        }
      }
    } catch (IOException e) {
      // not Linux: assume the common default
    }
    return 1024;
  }

  /** The heap's maximum ({@code -XX:MaxHeapSize}), from {@code jcmd VM.flags}. */
  static long maxHeapKb(long pid) throws Exception {
    Matcher max = Pattern.compile("MaxHeapSize\\D*(\\d+)").matcher(jcmd(pid, "VM.flags"));
    return max.find() ? Long.parseLong(max.group(1)) / 1024 : Long.MAX_VALUE;
  }

  /** Used heap after two full collections, from {@code jcmd}. */
  static long heapUsedKb(long pid) throws Exception {
    jcmd(pid, "GC.run");
    jcmd(pid, "GC.run");
    Thread.sleep(500);
    Matcher used = Pattern.compile("used (\\d+)K").matcher(jcmd(pid, "GC.heap_info"));
    if (!used.find()) {
      throw new IllegalStateException("jcmd GC.heap_info said nothing about the heap");
    }
    return Long.parseLong(used.group(1));
  }

  private static String jcmd(long pid, String command) throws Exception {
    String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    Process process = new ProcessBuilder(jcmd, Long.toString(pid), command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    process.waitFor(60, TimeUnit.SECONDS);
    return output;
  }

  static long rssKb(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    return 0;
  }
}
