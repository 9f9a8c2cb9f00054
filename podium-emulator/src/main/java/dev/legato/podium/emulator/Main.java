package dev.legato.podium.emulator;

import java.time.Duration;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * {@code ./legato emulator [options]}: runs a Podium emulator until Ctrl-C. Options are listed in
 * {@link #USAGE}; the defaults are a laptop's: loopback, port 8090, open, dotted spelling.
 */
public final class Main {
  static final String USAGE = """
      usage: ./legato emulator [options]
        --host H             address to listen on (default 127.0.0.1)
        --port N             port (default 8090; 0 picks a free one)
        --spelling S         dotted | snake | message-type | event-type | mixed (default dotted)
        --idle-timeout D     scale an idle instance to zero after D, e.g. 30s, 5m, 1h (default 5m)
        --stream-delay D     pause between streamed words, e.g. 50ms (default 0)
        --key K              accept bearer key K (repeatable; none = open, no authentication)
        --admin-key K        accept K for admin calls: deploy, /admin/faults (repeatable)
      """;

  private Main() {}

  public static void main(String[] args) throws InterruptedException {
    EmulatorSettings settings;
    try {
      settings = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("emulator: " + e.getMessage());
      System.err.print(USAGE);
      System.exit(2);
      return;
    }
    if (settings == null) {
      System.out.print(USAGE);
      return;
    }
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "podium-emulator-logback.xml");
    }
    // initialise logging before the ActorSystem logs from several threads at once
    org.slf4j.LoggerFactory.getILoggerFactory();
    if (settings.tenantKeys().isEmpty() && !isLoopback(settings.host())) {
      System.err.println("emulator: warning: listening on " + settings.host()
          + " without --key: anyone who can reach it may use it");
    }
    PodiumEmulator emulator = PodiumEmulator.start(settings);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      emulator.stop();
      stopped.countDown();
    }, "podium-emulator-shutdown"));
    System.out.println("Podium emulator listening on " + emulator.baseUrl());
    System.out.println("  deployments: echo 1.0.0/1.2.0/1.10.0, coder, load, claude-agent; spelling "
        + settings.spelling().name().toLowerCase(Locale.ROOT) + "; auth "
        + (settings.tenantKeys().isEmpty() ? "open" : settings.tenantKeys().size() + " key(s)")
        + "; Ctrl-C stops it");
    stopped.await();
  }

  /** The settings the arguments ask for, or null when help was asked for. */
  static EmulatorSettings parse(String[] args) {
    EmulatorSettings settings = EmulatorSettings.defaults().withPort(8090);
    Set<String> keys = new HashSet<>();
    Set<String> adminKeys = new HashSet<>();
    for (int i = 0; i < args.length; i++) {
      String option = args[i];
      if (option.equals("-h") || option.equals("--help") || option.equals("help")) {
        return null;
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("unknown option or missing value: " + option);
      }
      String value = args[++i];
      switch (option) {
        case "--host" -> settings = settings.withHost(value);
        case "--port" -> settings = settings.withPort(parsePort(value));
        case "--spelling" -> settings = settings.withSpelling(Spelling.parse(value));
        case "--idle-timeout" -> settings = settings.withIdleTimeout(parseDuration(value));
        case "--stream-delay" -> settings = settings.withStreamDelay(parseDuration(value));
        case "--key" -> keys.add(value);
        case "--admin-key" -> adminKeys.add(value);
        default -> throw new IllegalArgumentException("unknown option: " + option);
      }
    }
    return settings.withTenantKeys(keys).withAdminKeys(adminKeys);
  }

  private static int parsePort(String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a port: " + value);
    }
  }

  /** 500ms, 30s, 5m, 1h, or a plain number of seconds. */
  static Duration parseDuration(String value) {
    var m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h)?").matcher(value.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a duration (e.g. 500ms, 30s, 5m, 1h): " + value);
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    return switch (unit) {
      case "ms" -> Duration.ofMillis(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofSeconds(n);
    };
  }

  private static boolean isLoopback(String host) {
    return host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1");
  }
}
