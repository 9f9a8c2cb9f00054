package dev.legato.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.legato.gateway.protocol.CodexSchema;
import dev.legato.podium.emulator.EmulatorSettings;
import dev.legato.podium.emulator.PodiumEmulator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stock Codex TUI (the pinned CLI) against a real Legato, driven like a person would in a detached tmux
 * session: it starts a thread, streams an answer, asks for and runs an approved command, and shows the whole
 * conversation again after {@code resume}. A failed wait reports the screen the TUI last showed.
 *
 * <p>Screens the TUI 0.169.0 shows here, and why no others: before it starts, one line "WARNING: proceeding,
 * even though we could not create PATH aliases" (it creates no helper binaries under a temporary CODEX_HOME);
 * then the start screen (the "OpenAI Codex (v0.169.0)" box, whose directory is {@code /} because the TUI sends
 * {@code cwd: null} to a remote server and Legato then reports {@code /}) and the composer with the status
 * line {@code coder default · /}. It needs no login ({@code account/read} answers an API-key account that
 * requires no OpenAI auth) and asks no "Do you trust this folder?" ({@code config/read} reports the folder
 * trusted). Its footer may count warnings that are not Legato faults: without bubblewrap installed, that
 * Codex uses its bundled one, and "a background Codex service is running v0.1.0, older than your Codex CLI"
 * (it reads the version in Legato's {@code userAgent}). There is no update prompt because the fresh
 * {@code CODEX_HOME} holds no version cache and {@code check_for_update_on_startup} is off; should another
 * first-run screen show up anyway (an update notice, a trust prompt), {@link #answerFirstRunScreens} answers
 * it the way a person would. A command approval shows as "Would you like to run the following command?" with
 * "1. Yes, proceed" highlighted; quitting prints how to reconnect
 * ({@code codex --remote ws://…/ resume <thread id>}).
 */
class CodexTuiTest {
  static final int COLUMNS = 160;
  static final int ROWS = 50;
  static final Duration DEADLINE = Duration.ofSeconds(30);
  /** The first start also waits for the gateway to start the thread's agent on a busy machine. */
  static final Duration START_DEADLINE = Duration.ofSeconds(60);
  /** The command's output under "Ran echo tui-ok". */
  static final Pattern OUTPUT = Pattern.compile("(?m)^\\s*└\\s*tui-ok\\s*$");

  /** Everything the test writes (Legato's data, the TUI's home, its working folder, tmux's socket); removed after. */
  @TempDir
  static Path temp;
  static PodiumEmulator emulator;
  static Gateway gateway;
  static String url;
  static Path codex;
  /** The socket of a tmux server of our own, so the test neither reads nor touches anyone else's sessions. */
  static Path socket;
  static Path home;
  static Path codexHome;
  static Path workdir;
  final List<String> sessions = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    requireTmux();
    codex = CodexSchema.codexBinary();
    socket = temp.resolve("tmux.sock");
    emulator = PodiumEmulator.start(EmulatorSettings.defaults());
    Path data = Files.createDirectories(temp.resolve("data"));
    gateway = Gateway.start(ConfigFactory.parseMap(Map.of(
            "legato.storage.data-dir", data.toString(),
            "legato.podium.url", emulator.baseUrl(),
            "legato.gateway.port", "0",
            "pekko.loglevel", "WARNING"))
        .withFallback(ConfigFactory.load()));
    url = "ws://127.0.0.1:" + gateway.port();
    // A fresh HOME and CODEX_HOME: no real config, credentials or history of this machine is read.
    home = Files.createDirectories(temp.resolve("home"));
    codexHome = Files.createDirectories(home.resolve(".codex")); // Codex refuses a CODEX_HOME that does not exist
    workdir = Files.createDirectories(temp.resolve("project"));
  }

  @AfterEach
  void closeSessions() throws Exception {
    for (String session : sessions) {
      tmux("kill-session", "-t", session);
    }
    sessions.clear();
  }

  @AfterAll
  static void stop() throws Exception {
    if (socket != null) {
      tmux("kill-server");
    }
    if (gateway != null) {
      gateway.close();
    }
    if (emulator != null) {
      emulator.stop();
    }
  }

  @Test
  void theStockTuiStartsAThreadStreamsAnswersRunsAnApprovedCommandAndResumesTheConversation() throws Exception {
    Screen first = open("first", "--remote", url);
    first.waitFor("the composer of a fresh thread", START_DEADLINE, s -> s.contains("? for shortcuts"));
    first.waitFor("the default agent type as the model", DEADLINE,
        s -> Pattern.compile("(?m)^\\s*coder ").matcher(s).find());

    // "/slow /long 40": forty more words, one every 150 ms, so the answer is on screen while its turn still runs.
    first.submit("please repeat tui-streamed-answer /slow /long 40");
    first.waitFor("the answer streaming in while its turn runs", DEADLINE,
        s -> s.contains("You said: please repeat tui-streamed-answer. lorem ipsum") && turnsEnded(s) == 0);
    first.waitFor("the end of the first turn", DEADLINE, s -> turnsEnded(s) == 1);

    // A prompt that starts with "/" would be a TUI slash command: the emulator's directive comes mid-text.
    first.submit("please /run echo tui-ok");
    first.waitFor("the command approval", DEADLINE, s -> s.contains("Would you like to run the following command?"));
    first.waitFor("the command to approve", DEADLINE, s -> s.contains("$ echo tui-ok"));
    first.press("Enter"); // "1. Yes, proceed" is highlighted: the TUI answers {"decision":"accept"}
    first.waitFor("the approved command's run and output", DEADLINE,
        s -> s.contains("Ran echo tui-ok") && OUTPUT.matcher(s).find());
    first.waitFor("the end of the second turn", DEADLINE,
        s -> s.contains("Command echo tui-ok exited with 0") && turnsEnded(s) == 2);

    String threadId = onlyThreadId();
    first.quit();
    first.waitFor("the hint to resume this thread", DEADLINE, s -> s.contains("resume " + threadId));

    Screen resumed = open("resumed", "--remote", url, "resume", threadId);
    resumed.waitFor("the earlier conversation", START_DEADLINE, s -> s.contains("? for shortcuts")
        && s.contains("please repeat tui-streamed-answer")
        && s.contains("You said: please repeat tui-streamed-answer. lorem ipsum")
        && s.contains("Ran echo tui-ok")
        && OUTPUT.matcher(s).find());
    resumed.quit();
  }

  /** How many turns the screen shows as finished: the TUI closes each with "Worked for <duration>". */
  static int turnsEnded(String screen) {
    return (int) Pattern.compile("Worked for ").matcher(screen).results().count();
  }

  /** The one thread this gateway holds, as Legato lists it (schema-checked by the client). */
  static String onlyThreadId() throws Exception {
    try (CodexClient client = new CodexClient(url)) {
      client.initialize();
      JsonNode threads = client.result("thread/list", CodexClient.JSON.createObjectNode()).path("data");
      assertEquals(1, threads.size(), "threads: " + threads);
      return threads.get(0).path("id").asText();
    }
  }

  // ---- the TUI in tmux ------------------------------------------------------------------------------------

  /** Starts {@code codex <args>} in a new detached tmux session and answers its first-run screens. */
  Screen open(String name, String... args) throws Exception {
    String session = name + "-" + UUID.randomUUID().toString().substring(0, 8);
    StringBuilder command = new StringBuilder("exec env -i")
        .append(" PATH=").append(quote(System.getenv().getOrDefault("PATH", "/usr/bin:/bin")))
        .append(" HOME=").append(quote(home.toString()))
        .append(" CODEX_HOME=").append(quote(codexHome.toString()))
        .append(" TERM=xterm-256color LANG=C.UTF-8")
        .append(" sh -c ").append(quote("\"$0\" \"$@\"; echo \"[codex exited with status $?]\"; exec sleep 3600"))
        .append(' ').append(quote(codex.toString()))
        // The update check would fetch the latest version over the network and prompt on a later start.
        .append(" -c check_for_update_on_startup=false");
    for (String arg : args) {
      command.append(' ').append(quote(arg));
    }
    Path launcher = home.resolve(session + ".sh");
    Files.writeString(launcher, command + "\n");
    sessions.add(session);
    tmux("new-session", "-d", "-s", session, "-x", String.valueOf(COLUMNS), "-y", String.valueOf(ROWS),
        "-c", workdir.toString(), "sh " + quote(launcher.toString()));
    Screen screen = new Screen(session);
    answerFirstRunScreens(screen);
    return screen;
  }

  /**
   * Answers what a first start of the TUI may ask before its composer shows, as a person would: skip an
   * update (Enter would run {@code npm install -g}), trust the folder. None of them shows against Legato on a
   * clean machine (see the class comment); this keeps the test from hanging on one that a newer environment
   * brings.
   */
  static void answerFirstRunScreens(Screen screen) throws Exception {
    long deadline = System.nanoTime() + START_DEADLINE.toNanos();
    while (System.nanoTime() < deadline) {
      String text = screen.visible();
      if (text.contains("? for shortcuts") || text.contains("[codex exited")) {
        return;
      } else if (text.contains("Update available!") && text.contains("Skip")) {
        screen.press("2"); // "Skip"
      } else if (text.contains("trust") && (text.contains("Yes, continue") || text.contains("Trust this folder"))) {
        screen.press("Enter"); // the highlighted first option trusts it
      } else if (text.contains("Press enter to continue")) {
        screen.press("Enter"); // an announcement
      }
      Thread.sleep(250);
    }
  }

  /** One tmux session running the TUI: what it shows, and keys typed into it. */
  static final class Screen {
    final String session;
    String last = "";

    Screen(String session) {
      this.session = session;
    }

    /** The visible screen now. */
    String visible() throws Exception {
      last = stripTrailingBlankLines(tmux("capture-pane", "-p", "-t", session));
      return last;
    }

    /** The screen with what scrolled above it: the TUI writes finished history into the terminal's scrollback. */
    String withScrollback() throws Exception {
      String all = tmux("capture-pane", "-p", "-S", "-2000", "-t", session);
      visible();
      return all;
    }

    /** Polls the screen (and its scrollback) until {@code condition} holds; fails with the last screen. */
    void waitFor(String what, Duration timeout, Predicate<String> condition) throws Exception {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        String text = withScrollback();
        if (condition.test(text)) {
          return;
        }
        if (System.nanoTime() > deadline) {
          fail("the Codex TUI did not show " + what + " within " + timeout.toSeconds() + " s; its screen was:\n"
              + "-".repeat(COLUMNS) + "\n" + last + "\n" + "-".repeat(COLUMNS));
        }
        Thread.sleep(200);
      }
    }

    /** Types a prompt and sends it once the composer shows it. */
    void submit(String prompt) throws Exception {
      tmux("send-keys", "-t", session, "-l", prompt);
      waitFor("the typed prompt in its composer", DEADLINE, s -> s.contains("› " + prompt));
      // Keys that arrive in a burst read as a paste, where Enter adds a line; a pause ends the burst.
      Thread.sleep(500);
      press("Enter");
    }

    void press(String key) throws Exception {
      tmux("send-keys", "-t", session, key);
    }

    /** Ctrl-C on an empty composer quits; a second one if the first only asked to confirm. */
    void quit() throws Exception {
      press("C-c");
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (System.nanoTime() < deadline) {
        if (withScrollback().contains("[codex exited")) {
          return;
        }
        Thread.sleep(200);
      }
      press("C-c");
      waitFor("the TUI exiting", DEADLINE, s -> s.contains("[codex exited"));
    }
  }

  // ---- tmux --------------------------------------------------------------------------------------------------

  /** Fails, and says what to do, when tmux is missing: CI provisions it, so the test never skips silently. */
  static void requireTmux() {
    try {
      Process process = new ProcessBuilder("tmux", "-V").redirectErrorStream(true).start();
      if (process.waitFor(10, TimeUnit.SECONDS) && process.exitValue() == 0) {
        return;
      }
    } catch (IOException | InterruptedException e) {
      // reported below
    }
    boolean root = "root".equals(System.getProperty("user.name"));
    fail("The Codex TUI test drives the stock Codex TUI in tmux, and tmux is not installed. "
        + (root ? "Run scripts/provision-test-tools, which installs it (and the pinned Codex CLI)."
            : "Install tmux with the system's package manager"
                + " (scripts/provision-test-tools does it when run as root)."));
  }

  /** Runs a tmux command on this test's own server (no user config, UTF-8) and returns its output. */
  static String tmux(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("tmux", "-u", "-f", "/dev/null", "-S", socket.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("LANG", "C.UTF-8");
    builder.environment().remove("TMUX"); // a test run from inside tmux must still talk to its own server
    Process process = builder.start();
    byte[] output = process.getInputStream().readAllBytes();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException("tmux " + String.join(" ", args) + " did not finish");
    }
    String text = new String(output, StandardCharsets.UTF_8);
    boolean cleanup = args[0].equals("kill-session") || args[0].equals("kill-server");
    if (process.exitValue() != 0 && !cleanup) {
      throw new IllegalStateException("tmux " + String.join(" ", args) + " failed: " + text);
    }
    return text;
  }

  static String quote(String word) {
    return "'" + word.replace("'", "'\\''") + "'";
  }

  static String stripTrailingBlankLines(String text) {
    return text.replaceAll("(?s)\\s+$", "");
  }
}
