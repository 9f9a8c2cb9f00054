package dev.legato.bench;

import java.util.Arrays;
import java.util.List;

/** Entry point of {@code ./legato bench <scenario> [options]}. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    String scenario = args.length == 0 ? "help" : args[0];
    List<String> options = Arrays.asList(args).subList(Math.min(1, args.length), args.length);
    switch (scenario) {
      case "storage" -> StorageBench.run(BenchOptions.parse(options));
      default -> {
        System.out.println("""
            usage: ./legato bench <scenario> [options]

            scenarios:
              storage   events/s persisted through the SQLite journal by 1, 100 and 1,000 event-sourced
                        actors, against raw sqlite-jdbc into the same number of files
                        options: --ids 1,100,1000  --seconds 10  --warmup 5  --event-bytes 200
                                 --journal <plugin id>  --baseline true|false
            """);
        if (!scenario.equals("help")) {
          System.exit(2);
        }
      }
    }
  }
}
