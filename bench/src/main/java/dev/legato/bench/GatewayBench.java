package dev.legato.bench;

import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import java.io.BufferedReader;
import java.lang.ref.Reference;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;

/**
 * Legato driven through its public WebSocket protocol only, against a pass-through relay measured in the
 * same run.
 *
 * <p>Who runs where: Legato ({@code dev.legato.gateway.Main}, {@code -Xmx1g}) runs in a child JVM of its
 * own, so its heap and RSS are its alone (heap: {@code jcmd GC.run} then {@code GC.heap_info}; RSS:
 * {@code VmRSS}). The Podium emulator and the clients run in this JVM, so the load agent's timestamp
 * mode ({@code "<count> <size> t"}: each delta starts with the emulator's {@code System.nanoTime()} at
 * send) and the client's receive time read one clock: latency is agent send → client receive, through
 * the emulator's socket, Legato and Legato's socket. The relay ({@link PassThroughRelay}) runs in a child
 * JVM too, on the same stack (Pekko HTTP both sides), so the two differ by what Legato adds: JSON-RPC
 * parsing and rendering, actors, sharding, persistence.
 *
 * <p>Phases: N load clients ({@link LoadClient}) on Legato, each {@code initialize}, {@code thread/start
 * {model: load}}, then {@code turn/start} after {@code turn/start} ({@code <deltas-per-turn>
 * <delta-bytes> t}); warm-up, then the measured period: deltas/s received, delta latency p50/p99. Then the
 * idle phase on the same Legato: {@code start-samples} connections started one after another,
 * {@code start-gap-ms} apart (the thread/start latency of an unloaded node, done with the previous start's
 * agent), the rest 64 at a time, all left connected and quiet, then held {@code idle-hold} seconds so that
 * their links go quiet and close (legato.thread.close-link-after); Legato's heap and RSS before and after
 * (and after every 1,000), per idle connected thread, and how many are still connected (Legato pings quiet
 * sockets, so Pekko HTTP's idle-timeout must not cut them). It stops early, and says why, when Legato's
 * heap passes 90% of its maximum or {@code idle-seconds} are spent. Then the same load clients against
 * the relay. A connection costs a descriptor on each side, two while its thread's link is open; when the
 * limit is too low for the idle clients the run raises it with {@code prlimit} where it may (root), else
 * runs fewer and says so, with an extrapolation labelled as such.
 */
final class GatewayBench {
  private static final Pattern LISTENING = Pattern.compile("is listening on ([^\\s:]+):(\\d+)");
  private static final long WANTED_FILES = 65_536;
  private static final int WINDOW = 64;
  private static final int STEP = 1000;

  private GatewayBench() {}

  static void run(BenchOptions options) throws Exception {
    int clients = options.integer("clients", 100);
    double seconds = options.decimal("seconds", 20);
    double warmup = options.decimal("warmup", 15); // the JIT is still compiling Legato's hot paths at 10 s
    int deltasPerTurn = options.integer("deltas-per-turn", 1000);
    int deltaBytes = options.integer("delta-bytes", 32);
    int idle = options.integer("idle-clients", 10_000);
    int startSamples = Math.min(idle, options.integer("start-samples", 100));
    long startGapMs = options.integer("start-gap-ms", 50);
    double idleSeconds = options.decimal("idle-seconds", 420);
    double holdSeconds = options.decimal("idle-hold", 75);
    double idleRate = options.decimal("idle-rate", 0); // starts per second; 0: as fast as 64 at a time go
    boolean withRelay = !options.text("relay", "on").equals("off");
    int rounds = options.integer("rounds", 1);
    if (rounds < 1 || rounds > 1 && idle > 0) {
      throw new IllegalArgumentException("--rounds must be at least 1, and more than 1 only with --idle-clients 0");
    }
    String heap = options.text("legato-heap", "1g");
    List<String> javaOptions = List.of(options.text("legato-java-options", "").trim().split("\\s+")).stream()
        .filter(option -> !option.isEmpty()).toList();
    if (deltaBytes < 20) {
      throw new IllegalArgumentException("--delta-bytes must be at least 20 (the timestamp)");
    }
    String prompt = deltasPerTurn + " " + deltaBytes + " t";
    Path work = Files.createTempDirectory("legato-bench-gateway");
    System.out.printf("gateway benchmark: %d clients on the load agent (%d deltas of %d bytes a turn), %.0fs warm-up,"
            + " %.0fs measured; %d idle clients; Legato -Xmx%s%s in a child JVM; %d cores; logs in %s%n",
        clients, deltasPerTurn, deltaBytes, warmup, seconds, idle, heap,
        javaOptions.isEmpty() ? "" : " " + String.join(" ", javaOptions), Runtime.getRuntime().availableProcessors(), work);

    long ownFiles = Probe.allowOpenFiles(ProcessHandle.current().pid(), WANTED_FILES);
    PodiumEmulator emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    Load legato;
    Load relay = null;
    Idle idled = null;
    try {
      List<String> legatoCommand = new ArrayList<>(javaOptions);
      legatoCommand.addAll(List.of("-Xmx" + heap, "dev.legato.gateway.Main", "--port", "0", "--management-port", "0",
          "--data", work.resolve("data").toString(), "--podium-url", emulator.baseUrl()));
      Child gateway = Child.start("legato", work, legatoCommand);
      if (rounds > 1) {
        Load[] both = alternating(gateway, work, emulator, withRelay, rounds, clients, prompt, deltaBytes, warmup, seconds);
        legato = both[0];
        relay = both[1];
      } else {
        try {
          long gatewayFiles = Probe.allowOpenFiles(gateway.pid(), WANTED_FILES);
          legato = load("Legato", gateway.uri(), clients, prompt, deltaBytes, warmup, seconds);
          System.out.printf("  Legato after the load: heap %.1f MB used after GC, RSS %.1f MB%n",
              Probe.heapUsedKb(gateway.pid()) / 1024.0, Probe.rssKb(gateway.pid()) / 1024.0);
          // An idle connection holds one socket on either side for good, and its thread's link (a socket on
          // either side) only until the link goes quiet (legato.thread.close-link-after, 60 s): at the ramp's
          // pace, up to ~4,000 links are open at once. Legato keeps a quarter of its limit for SQLite files
          // (legato.storage.max-open-databases = auto), and ~1,000 descriptors go to everything else.
          int fits = (int) Math.min(ownFiles - 2L * clients - 5000, gatewayFiles * 3 / 4 - 5000);
          int n = Math.max(0, Math.min(idle, fits));
          if (n < idle) {
            System.out.printf("  only %,d idle clients fit the open-file limits (this JVM %,d, Legato %,d); running %,d%n",
                idle, ownFiles, gatewayFiles, n);
          }
          if (n > 0) {
            idled = idle(gateway, n, Math.min(n, startSamples), startGapMs, idleRate, idle, idleSeconds, holdSeconds,
                Probe.maxHeapKb(gateway.pid()));
          }
        } finally {
          gateway.stop();
        }
      }
      if (withRelay && rounds == 1) {
        Child passThrough = Child.start("relay", work,
            List.of("-Xmx1g", PassThroughRelay.class.getName(), emulator.baseUrl()));
        try {
          relay = load("relay", passThrough.uri(), clients, prompt, deltaBytes, warmup, seconds);
        } finally {
          passThrough.stop();
        }
      }
    } finally {
      emulator.stop();
    }
    double ratio = relay == null ? Double.NaN : legato.deltasPerSecond / relay.deltasPerSecond;
    System.out.printf("summary: Legato %,.0f deltas/s (p50 %.2f ms, p99 %.2f ms), relay %s, ratio %.2f;"
            + " thread/start p50 %s ms, p99 %s ms%n",
        legato.deltasPerSecond, legato.p50Ms, legato.p99Ms,
        relay == null ? "not run" : String.format("%,.0f deltas/s (p50 %.2f ms, p99 %.2f ms)", relay.deltasPerSecond,
            relay.p50Ms, relay.p99Ms),
        ratio, idled == null ? "-" : String.format("%.2f", idled.startP50Ms),
        idled == null ? "-" : String.format("%.2f", idled.startP99Ms));
    // Latency and starts under load for both, so that a change's effect shows against the relay of the same
    // run: on a shared machine, figures of different runs are not comparable.
    System.out.printf("RESULT gateway clients=%d deltas_per_s=%.0f p99_ms=%.2f start_p50_ms=%.2f relay_deltas_per_s=%.0f"
            + " ratio=%.2f p50_ms=%.2f relay_p50_ms=%.2f relay_p99_ms=%.2f p99_ratio=%.2f load_start_p50_ms=%.2f"
            + " relay_load_start_p50_ms=%.2f%n", clients, legato.deltasPerSecond, legato.p99Ms,
        idled == null ? legato.startP50Ms : idled.startP50Ms, relay == null ? Double.NaN : relay.deltasPerSecond, ratio,
        legato.p50Ms, relay == null ? Double.NaN : relay.p50Ms, relay == null ? Double.NaN : relay.p99Ms,
        relay == null ? Double.NaN : legato.p99Ms / relay.p99Ms, legato.startP50Ms,
        relay == null ? Double.NaN : relay.startP50Ms);
  }

  record Load(double deltasPerSecond, double p50Ms, double p99Ms, double startP50Ms) {}

  /**
   * Legato's and the relay's load phases in turn, {@code rounds} times, both JVMs up all along: on a machine
   * shared with other work the load changes by the minute, and figures taken minutes apart do not compare.
   * Answers the medians of each side (each figure on its own); stops both children.
   */
  private static Load[] alternating(Child gateway, Path work, PodiumEmulator emulator, boolean withRelay, int rounds,
                                    int clients, String prompt, int deltaBytes, double warmup, double seconds)
      throws Exception {
    Child passThrough = null;
    List<Load> legato = new ArrayList<>();
    List<Load> relay = new ArrayList<>();
    try {
      Probe.allowOpenFiles(gateway.pid(), WANTED_FILES);
      if (withRelay) {
        passThrough = Child.start("relay", work, List.of("-Xmx1g", PassThroughRelay.class.getName(), emulator.baseUrl()));
      }
      for (int round = 1; round <= rounds; round++) {
        System.out.printf("  round %d of %d%n", round, rounds);
        // A round that fails is reported and left out; the others still make the medians.
        Load l;
        Load r = null;
        try {
          l = load("Legato", gateway.uri(), clients, prompt, deltaBytes, warmup, seconds);
          if (passThrough != null) {
            r = load("relay", passThrough.uri(), clients, prompt, deltaBytes, warmup, seconds);
          }
        } catch (Exception e) {
          System.out.printf("  round %d failed, left out: %s%n", round, e);
          continue;
        }
        legato.add(l);
        if (r != null) {
          relay.add(r);
          System.out.printf("  round %d: Legato/relay deltas/s %.2f, p50 %.2f, p99 %.2f%n", round,
              l.deltasPerSecond / r.deltasPerSecond, l.p50Ms / r.p50Ms, l.p99Ms / r.p99Ms);
        }
      }
      if (legato.isEmpty()) {
        throw new IllegalStateException("no round completed");
      }
    } finally {
      gateway.stop();
      if (passThrough != null) {
        passThrough.stop();
      }
    }
    return new Load[] {median(legato), relay.isEmpty() ? null : median(relay)};
  }

  /** Each figure's median over the rounds (the lower middle one for an even count). */
  static Load median(List<Load> rounds) {
    return new Load(median(rounds, Load::deltasPerSecond), median(rounds, Load::p50Ms), median(rounds, Load::p99Ms),
        median(rounds, Load::startP50Ms));
  }

  private static double median(List<Load> rounds, java.util.function.ToDoubleFunction<Load> figure) {
    double[] values = rounds.stream().mapToDouble(figure).sorted().toArray();
    return values[(values.length - 1) / 2];
  }

  private record Idle(double startP50Ms, double startP99Ms) {}

  /** N clients turn after turn: warm-up, then the measured period. */
  private static Load load(String name, URI uri, int clients, String prompt, int deltaBytes, double warmup,
                           double seconds) throws Exception {
    return load(name, List.of(uri), clients, prompt, deltaBytes, warmup, seconds);
  }

  /** The same with the clients spread over several nodes, in turn (the cluster benchmark). */
  static Load load(String name, List<URI> uris, int clients, String prompt, int deltaBytes, double warmup,
                   double seconds) throws Exception {
    LoadClient.Meter meter = new LoadClient.Meter(deltaBytes);
    List<HttpClient> http = new ArrayList<>();
    for (int i = 0; i < Math.max(1, Math.min(4, clients / 25)); i++) {
      http.add(HttpClient.newHttpClient());
    }
    List<CompletableFuture<LoadClient>> starting = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      starting.add(LoadClient.start(http.get(i % http.size()), uris.get(i % uris.size()), meter, prompt));
    }
    // A client that cannot start (a server under more load than it can take may close it) is reported, and
    // the phase goes on with the others: the figures say how many they are.
    CompletableFuture.allOf(starting.stream().map(start -> start.handle((client, error) -> client))
        .toArray(CompletableFuture[]::new)).get(180, TimeUnit.SECONDS);
    List<LoadClient> running = starting.stream().filter(start -> !start.isCompletedExceptionally())
        .map(CompletableFuture::join).toList();
    if (running.size() < clients) {
      Throwable last = null;
      for (CompletableFuture<LoadClient> start : starting) {
        if (start.isCompletedExceptionally()) {
          last = start.handle((client, error) -> error).join();
        }
      }
      System.out.printf("  %s: %d of %d clients could not start (last: %s); going on with %d%n", name,
          clients - running.size(), clients, last, running.size());
      if (running.isEmpty()) {
        throw new IllegalStateException(name + ": no client could start", last);
      }
    }
    Histogram starts = new Histogram(3);
    running.forEach(client -> starts.recordValue(client.startNanos() / 1000));
    Thread.sleep((long) (warmup * 1000));
    meter.latency.getIntervalHistogram(); // the warm-up's latencies are dropped
    long deltas = meter.deltas.sum();
    long turns = meter.turns.sum();
    long failures = meter.failures.sum();
    long begin = System.nanoTime();
    Thread.sleep((long) (seconds * 1000));
    long measuredDeltas = meter.deltas.sum() - deltas;
    double elapsed = (System.nanoTime() - begin) / 1e9;
    Histogram latency = meter.latency.getIntervalHistogram();
    long measuredTurns = meter.turns.sum() - turns;
    meter.running.set(false);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (running.stream().anyMatch(LoadClient::turnRunning) && System.nanoTime() < deadline) {
      Thread.sleep(50); // let the last turns end, so the next phase starts quiet
    }
    long closed = running.stream().filter(client -> !client.open()).count();
    Reference.reachabilityFence(http);
    running.forEach(LoadClient::close);
    double rate = measuredDeltas / elapsed;
    Load load = new Load(rate, latency.getValueAtPercentile(50) / 1000.0, latency.getValueAtPercentile(99) / 1000.0,
        starts.getValueAtPercentile(50) / 1000.0);
    System.out.printf("  %s: %,.0f deltas/s to %d clients (%,.1f turns/s); delta latency p50 %.2f ms, p99 %.2f ms,"
            + " max %.2f ms; thread/start (%d at once) p50 %.2f ms, p99 %.2f ms%n",
        name, rate, clients, measuredTurns / elapsed, load.p50Ms, load.p99Ms, latency.getMaxValue() / 1000.0, clients,
        load.startP50Ms, starts.getValueAtPercentile(99) / 1000.0);
    if (meter.failures.sum() > failures || closed > 0) {
      System.out.printf("  %s: %d refused turns, %d clients disconnected during the run; last: %s%n", name,
          meter.failures.sum() - failures, closed, meter.lastFailure);
    }
    return load;
  }

  /**
   * Idle connected threads: thread/start latency one at a time, then the rest {@link #WINDOW} at a time
   * (at most {@code rate} a second when given) in steps of {@link #STEP}, Legato's heap after each; stops
   * early (and says why) when Legato's heap passes 90% of its maximum, clients fail or the time budget is
   * spent. Then all are held {@code holdSeconds}, measured, and thread/start is sampled once more.
   */
  private static Idle idle(Child gateway, int n, int samples, long gapMs, double rate, int goal, double budgetSeconds,
                           double holdSeconds, long maxHeapKb)
      throws Exception {
    long heapBefore = Probe.heapUsedKb(gateway.pid());
    long rssBefore = Probe.rssKb(gateway.pid());
    LoadClient.Meter meter = new LoadClient.Meter(32);
    List<HttpClient> http = new ArrayList<>();
    for (int i = 0; i < Math.max(1, n / 1000); i++) {
      http.add(HttpClient.newHttpClient());
    }
    List<LoadClient> connected = new ArrayList<>();
    Histogram windowed = new Histogram(3);
    int[] retried = new int[1];
    long begin = System.nanoTime();
    Histogram alone = oneAtATime(http, gateway.uri(), meter, retried, samples, gapMs, "right after the load",
        connected::add);
    Semaphore window = new Semaphore(WINDOW);
    long heapAfter = heapBefore;
    String stopped = null;
    long windowBegin = System.nanoTime();
    while (connected.size() < n && stopped == null) {
      int step = Math.min(STEP - connected.size() % STEP, n - connected.size());
      List<CompletableFuture<LoadClient>> starting = new ArrayList<>();
      for (int i = 0; i < step; i++) {
        if (rate > 0) { // at most `rate` starts a second since the ramp began
          long due = windowBegin + (long) ((connected.size() + i - samples) * 1e9 / rate);
          long wait = due - System.nanoTime();
          if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          }
        }
        window.acquire();
        starting.add(startRetrying(http.get(i % http.size()), gateway.uri(), meter, retried)
            .whenComplete((client, error) -> window.release()));
      }
      for (CompletableFuture<LoadClient> started : starting) {
        try {
          LoadClient client = started.get(300, TimeUnit.SECONDS);
          connected.add(client);
          windowed.recordValue(client.startNanos() / 1000);
        } catch (Exception e) {
          stopped = "a client could not start: " + e.getMessage();
        }
      }
      if (!gateway.process().isAlive()) {
        System.out.printf("  Legato exited with %,d idle connected threads; see its log%n", connected.size());
        return new Idle(alone.getValueAtPercentile(50) / 1000.0, alone.getValueAtPercentile(99) / 1000.0);
      }
      heapAfter = Probe.heapUsedKb(gateway.pid());
      double elapsed = (System.nanoTime() - begin) / 1e9;
      System.out.printf("    %,d idle connected threads: heap %.1f MB after GC, RSS %.1f MB, %.0f s%n", connected.size(),
          heapAfter / 1024.0, Probe.rssKb(gateway.pid()) / 1024.0, elapsed);
      if (stopped == null && connected.size() < n) {
        if (heapAfter > maxHeapKb * 9 / 10) {
          stopped = "Legato's heap is past 90% of its maximum";
        } else if (elapsed > budgetSeconds) {
          stopped = "the time budget (--idle-seconds " + (long) budgetSeconds + ") is spent";
        }
      }
    }
    double startSeconds = (System.nanoTime() - windowBegin) / 1e9;
    int count = connected.size();
    System.out.printf("    all started: heap %.1f MB after GC, RSS %.1f MB; holding them %.0f s (quiet links close,"
        + " legato.thread.close-link-after)%n", Probe.heapUsedKb(gateway.pid()) / 1024.0, Probe.rssKb(gateway.pid()) / 1024.0,
        holdSeconds);
    Thread.sleep((long) (holdSeconds * 1000));
    heapAfter = Probe.heapUsedKb(gateway.pid());
    long rssAfter = Probe.rssKb(gateway.pid());
    long stillOpen = connected.stream().filter(LoadClient::open).count();
    double heapPerThread = (heapAfter - heapBefore) / (double) count;
    double rssPerThread = (rssAfter - rssBefore) / (double) count;
    if (stopped != null) {
      System.out.printf("  stopped at %,d idle clients: %s%n", count, stopped);
    }
    if (stillOpen < count) {
      System.out.printf("  %,d of the idle clients were disconnected by Legato; the last: %s%n", count - stillOpen,
          meter.lastFailure);
    }
    System.out.printf("  thread/start %d at a time (%,d): p50 %.2f ms, p99 %.2f ms, %,.0f starts/s; %d retried%n",
        WINDOW, count - samples, windowed.getValueAtPercentile(50) / 1000.0, windowed.getValueAtPercentile(99) / 1000.0,
        (count - samples) / startSeconds, retried[0]);
    System.out.printf("  %,d idle connected threads (%,d still connected): Legato heap %.1f MB after GC (%.1f before),"
            + " RSS %.1f MB (%.1f before); %.1f KB heap and %.1f KB RSS per idle connected thread%n",
        count, stillOpen, heapAfter / 1024.0, heapBefore / 1024.0, rssAfter / 1024.0, rssBefore / 1024.0, heapPerThread,
        rssPerThread);
    if (count < goal) {
      System.out.printf("  EXTRAPOLATED, not measured: %,d idle connected threads would need about %.0f MB of heap"
          + " (%.1f MB + %,d x %.1f KB; the heap is %.0f MB)%n", goal, (heapBefore + heapPerThread * goal) / 1024.0,
          heapBefore / 1024.0, goal, heapPerThread, maxHeapKb / 1024.0);
    }
    // The same starts again, now that the JIT has compiled the path a start takes (thousands of starts
    // later), on the node holding the idle clients; each sample client leaves once started.
    Histogram warm = oneAtATime(http, gateway.uri(), meter, retried, samples, gapMs, "on the warm node holding them",
        LoadClient::close);
    // The JDK closes every socket of an HttpClient that is no longer referenced (a GC away): keep them.
    Reference.reachabilityFence(http);
    connected.forEach(LoadClient::close);
    return new Idle(warm.getValueAtPercentile(50) / 1000.0, warm.getValueAtPercentile(99) / 1000.0);
  }

  /**
   * {@code samples} clients started one at a time, {@code gapMs} apart so that each finds the node done with
   * the previous one's work (its agent, a spare thread); their thread/start latency, printed as {@code when}.
   */
  private static Histogram oneAtATime(List<HttpClient> http, URI uri, LoadClient.Meter meter, int[] retried,
                                      int samples, long gapMs, String when,
                                      java.util.function.Consumer<LoadClient> then) throws Exception {
    Histogram latency = new Histogram(3);
    for (int i = 0; i < samples; i++) {
      Thread.sleep(gapMs);
      LoadClient client = startRetrying(http.get(i % http.size()), uri, meter, retried).get(180, TimeUnit.SECONDS);
      latency.recordValue(client.startNanos() / 1000);
      then.accept(client);
    }
    System.out.printf("  thread/start one at a time, %d ms apart, %s (%d): p50 %.2f ms, p99 %.2f ms%n", gapMs, when,
        samples, latency.getValueAtPercentile(50) / 1000.0, latency.getValueAtPercentile(99) / 1000.0);
    return latency;
  }

  /** A client start, tried up to three times: a refused connection is counted, not fatal. */
  private static CompletableFuture<LoadClient> startRetrying(HttpClient http, URI uri, LoadClient.Meter meter,
                                                             int[] retried) {
    CompletableFuture<LoadClient> result = LoadClient.start(http, uri, meter, null);
    for (int attempt = 0; attempt < 2; attempt++) {
      result = result.handle((client, error) -> {
        if (error == null) {
          return CompletableFuture.completedFuture(client);
        }
        synchronized (retried) {
          retried[0]++;
        }
        return LoadClient.start(http, uri, meter, null);
      }).thenCompose(next -> next);
    }
    return result;
  }

  /** A JVM started on this classpath that prints "... is listening on host:port"; its output goes to a log. */
  record Child(Process process, URI uri) {
    static Child start(String name, Path work, List<String> arguments) throws Exception {
      List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path")));
      command.addAll(arguments);
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      Path log = work.resolve(name + ".log");
      BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      PrintWriter out = new PrintWriter(Files.newBufferedWriter(log), true);
      String line;
      Matcher listening = null;
      while ((line = lines.readLine()) != null) {
        out.println(line);
        listening = LISTENING.matcher(line);
        if (listening.find()) {
          break;
        }
      }
      if (line == null) {
        throw new IllegalStateException(name + " did not start; see " + log);
      }
      Thread drain = new Thread(() -> {
        try {
          lines.lines().forEach(out::println);
        } catch (java.io.UncheckedIOException ended) {
          // the process is gone and its pipe with it
        }
      }, name + "-output");
      drain.setDaemon(true);
      drain.start();
      String host = listening.group(1).equals("0.0.0.0") ? "127.0.0.1" : listening.group(1);
      return new Child(process, URI.create("ws://" + host + ":" + listening.group(2) + "/"));
    }

    long pid() {
      return process.pid();
    }

    void stop() throws InterruptedException {
      process.toHandle().destroy(); // not process.destroy(), which closes the pipe of what it logs while it stops
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
