package dev.legato.gateway;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Podium emulator in a JVM of its own ({@code ./legato emulator}), as an external Podium is: its own
 * process, CPU and garbage collector. Stopped (forcibly if need be) on {@link #close}, and by a shutdown hook
 * should the test JVM end first.
 */
final class ExternalPodium implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");

  private final Process process;
  private final Thread reaper;
  final String url;

  private ExternalPodium(Process process, Thread reaper, String url) {
    this.process = process;
    this.reaper = reaper;
    this.url = url;
  }

  static ExternalPodium start() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process process = new ProcessBuilder(List.of(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
        "dev.legato.podium.emulator.Main", "--port", "0"))
        .redirectErrorStream(true).start();
    Thread reaper = new Thread(process::destroyForcibly, "external-podium-reaper");
    Runtime.getRuntime().addShutdownHook(reaper);
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      CompletableFuture<String> url = CompletableFuture.supplyAsync(() -> {
        try {
          for (String line; (line = out.readLine()) != null; ) {
            Matcher listening = LISTENING.matcher(line);
            if (listening.find()) {
              return listening.group(1);
            }
          }
          throw new IllegalStateException("the emulator ended before it listened");
        } catch (java.io.IOException e) {
          throw new IllegalStateException(e);
        }
      });
      String baseUrl = url.get(60, TimeUnit.SECONDS);
      // keep draining its output, so that it never blocks on a full pipe
      Thread drain = new Thread(() -> out.lines().forEach(line -> {}), "external-podium-output");
      drain.setDaemon(true);
      drain.start();
      return new ExternalPodium(process, reaper, baseUrl);
    } catch (Exception | Error e) {
      process.destroyForcibly();
      Runtime.getRuntime().removeShutdownHook(reaper);
      throw e;
    }
  }

  /** Sets a fault switch ({@code POST /admin/faults}, see the emulator's README); fails unless applied. */
  void fault(String json) throws Exception {
    HttpResponse<String> answer = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(url + "/admin/faults")).POST(HttpRequest.BodyPublishers.ofString(json))
            .header("Content-Type", "application/json").build(),
        HttpResponse.BodyHandlers.ofString());
    if (answer.statusCode() != 200) {
      throw new IllegalStateException("fault " + json + " refused: " + answer.statusCode() + " " + answer.body());
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    Runtime.getRuntime().removeShutdownHook(reaper);
  }
}
