package dev.legato.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@code --name value} options of a benchmark run, with defaults. */
final class BenchOptions {
  private final Map<String, String> values;

  private BenchOptions(Map<String, String> values) {
    this.values = values;
  }

  /**
   * The libraries' reference configuration with {@code -D} overrides, for the actor systems of the
   * benchmarks. Not {@code ConfigFactory.load()}: gateway-app is on this classpath (the gateway scenario
   * starts Legato from it in a child JVM), and its application.conf would make every benchmark's actor
   * system a cluster node.
   */
  static Config config() {
    // The storage closes its databases in this phase, bounded by 30 s of its own; Pekko's default of 5 s
    // cut it short on a slow machine with 1,000 files, and the folder was removed while they still closed.
    Config shutdown = ConfigFactory.parseString("pekko.coordinated-shutdown.phases.before-actor-system-terminate.timeout = 60s");
    return ConfigFactory.load(shutdown); // system properties over it over reference.conf, no application.conf
  }

  static BenchOptions parse(List<String> args) {
    Map<String, String> values = new HashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (!arg.startsWith("--") || i + 1 >= args.size()) {
        throw new IllegalArgumentException("expected --name value, got '" + arg + "'");
      }
      values.put(arg.substring(2), args.get(++i));
    }
    return new BenchOptions(values);
  }

  String text(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  int integer(String name, int fallback) {
    return values.containsKey(name) ? Integer.parseInt(values.get(name)) : fallback;
  }

  double decimal(String name, double fallback) {
    return values.containsKey(name) ? Double.parseDouble(values.get(name)) : fallback;
  }

  List<Integer> integers(String name, List<Integer> fallback) {
    if (!values.containsKey(name)) {
      return fallback;
    }
    List<Integer> result = new ArrayList<>();
    for (String part : values.get(name).split(",")) {
      result.add(Integer.parseInt(part.trim()));
    }
    return result;
  }
}
