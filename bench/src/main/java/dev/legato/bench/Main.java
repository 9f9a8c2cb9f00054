package dev.legato.bench;

import java.util.Arrays;
import java.util.List;

/** Entry point of {@code ./legato bench <scenario> [options]}. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    List<String> options = Arrays.asList(args).subList(Math.min(1, args.length), args.length);
    String scenario = args.length == 0 || options.contains("--help") || options.contains("-h") ? "help" : args[0];
    BenchOptions parsed = null;
    if (!scenario.equals("help")) {
      try {
        parsed = BenchOptions.parse(options);
      } catch (IllegalArgumentException e) {
        System.err.println("legato bench " + scenario + ": " + e.getMessage() + " (./legato bench help lists the options)");
        System.exit(2);
      }
    }
    switch (scenario) {
      case "storage" -> StorageBench.run(parsed);
      case "replication" -> ReplicationBench.run(parsed);
      case "podium" -> PodiumBench.run(parsed);
      case "threads" -> ThreadsBench.run(parsed);
      case "gateway" -> GatewayBench.run(parsed);
      case "cluster" -> ClusterBench.run(parsed);
      default -> {
        System.out.println("""
            usage: ./legato bench <scenario> [options]

            scenarios:
              storage      events/s persisted through the SQLite journal by 1, 100 and 1,000 event-sourced
                           actors, against raw sqlite-jdbc into the same number of files
                           options: --ids 1,100,1000  --seconds 10  --warmup 5  --event-bytes 200
                                    --journal <plugin id>  --baseline true|false
                                    --replica off|async|sync (replicas to <data>/replicas; default off)
              replication  events/s of the storage scenario's 1,000-writer case with replicas off, async and
                           sync to S3 (s3proxy in this JVM, objects in memory), the async case's upload lag, then
                           the time to restore a 10 MiB thread database from S3 into a fresh folder (median of 3)
                           options: --ids 1000  --seconds 10  --warmup 5  --event-bytes 200  --rounds 1
                           --modes async,sync (off always runs; a mode left out reads NaN in the RESULT)
                           (rounds run off, async, sync in turn; the figures are the medians)
              podium       frames/s decoded through one PodiumLink from the emulator's load agent, then
                           through many links at once; every delta counted (no loss under backpressure)
                           options: --frames 500000  --links 100  --frames-per-link 10000  --delta-bytes 16
                                    --podium-url <url> (a Podium or emulator elsewhere; default: embedded)
              threads      heap per idle thread (connected, quiet, passivated), then ThreadEntities on the load
                           agent turn after turn: deltas/s to subscribers, persisted events/s
                           options: --threads 1000  --deltas-per-turn 1000  --seconds 10  --idle-threads 1000
                                    --text-window <duration>  --text-window-bytes <size>
                                    --close-link-after-s 30  --passivate-after-s 60  --emulator child|embedded
              gateway      Legato (child JVM, -Xmx1g) through its WebSocket protocol only: N clients on the load
                           agent turn after turn, deltas/s and delta latency (agent send -> client receive), then
                           idle connected threads (thread/start latency, heap and RSS per thread), then the same
                           clients through a pass-through relay (child JVM) for a baseline
                           options: --clients 100  --seconds 20  --warmup 15  --deltas-per-turn 1000  --delta-bytes 32
                                    --idle-clients 10000  --start-samples 100  --start-gap-ms 50  --idle-seconds 420
                                    --idle-hold 75  --idle-rate <starts/s, default: 64 at a time>  --relay on|off
                                    --legato-heap 1g  --legato-java-options "<JVM options for Legato's JVM>"
                                    --rounds 1 (more: Legato's and the relay's load phases in turn, medians;
                                    with --idle-clients 0)
              cluster      three Legato nodes (child JVMs, one cluster, S3 replicas in s3proxy in this JVM) against
                           one node in the same run, through the WebSocket protocol only: the gateway load with
                           clients spread over the nodes (deltas/s), then the hand-off of a graceful leave (SIGTERM)
                           and the failover of a crash (SIGKILL): for each thread the node held, the longest its
                           busy client on another node waited for a completed turn
                           options: --clients 30  --seconds 15  --warmup 10  --deltas-per-turn 1000  --delta-bytes 32
                                    --threads 30  --replicas sync|async  --node-heap 512m
                                    --phases load,handoff,failover (a subset runs only those; the RESULT line
                                    then says NaN for the others)
            """);
        if (!scenario.equals("help")) {
          System.exit(2);
        }
      }
    }
  }
}
