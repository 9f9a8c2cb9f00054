package dev.legato.podium.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MainTest {

  @Test
  void defaultsAreLoopbackPort8090OpenAndDotted() {
    EmulatorSettings settings = Main.parse(new String[0]);
    assertEquals("127.0.0.1", settings.host());
    assertEquals(8090, settings.port());
    assertEquals(Set.of(), settings.tenantKeys());
    assertEquals(Spelling.DOTTED, settings.spelling());
    assertEquals(Duration.ofMinutes(5), settings.idleTimeout());
  }

  @Test
  void everyOptionIsParsed() {
    EmulatorSettings settings = Main.parse(new String[] {
        "--host", "0.0.0.0", "--port", "0", "--spelling", "message-type", "--idle-timeout", "30s",
        "--stream-delay", "20ms", "--key", "pod_a", "--key", "pod_b", "--admin-key", "pod_admin_c"});
    assertEquals("0.0.0.0", settings.host());
    assertEquals(0, settings.port());
    assertEquals(Spelling.MESSAGE_TYPE_ONLY, settings.spelling());
    assertEquals(Duration.ofSeconds(30), settings.idleTimeout());
    assertEquals(Duration.ofMillis(20), settings.streamDelay());
    assertEquals(Set.of("pod_a", "pod_b"), settings.tenantKeys());
    assertEquals(Set.of("pod_admin_c"), settings.adminKeys());
  }

  @Test
  void helpGivesNoSettingsAndBadOptionsAreRefused() {
    assertNull(Main.parse(new String[] {"--help"}));
    assertThrows(IllegalArgumentException.class, () -> Main.parse(new String[] {"--spelling", "camel"}));
    assertThrows(IllegalArgumentException.class, () -> Main.parse(new String[] {"--idle-timeout", "soon"}));
    assertThrows(IllegalArgumentException.class, () -> Main.parse(new String[] {"--frobnicate", "1"}));
    assertThrows(IllegalArgumentException.class, () -> Main.parse(new String[] {"--port"}));
  }

  @Test
  void durationsReadMillisSecondsMinutesAndHours() {
    assertEquals(Duration.ofMillis(500), Main.parseDuration("500ms"));
    assertEquals(Duration.ofSeconds(7), Main.parseDuration("7"));
    assertEquals(Duration.ofMinutes(5), Main.parseDuration("5m"));
    assertEquals(Duration.ofHours(1), Main.parseDuration("1h"));
  }
}
