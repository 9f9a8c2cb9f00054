package dev.legato.podium;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class SemanticVersionTest {
  @Test
  void versionsOrderAsSemverSaysNotAsText() {
    List<String> ordered = List.of("garbage", "0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
        "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0", "v2.0.0+build.7");
    List<String> shuffled = new ArrayList<>(ordered);
    Collections.shuffle(shuffled, new java.util.Random(7));
    shuffled.sort((a, b) -> SemanticVersion.parse(a).compareTo(SemanticVersion.parse(b)));
    assertEquals(ordered, shuffled);
  }

  @Test
  void instanceStatusesParseLeniently() {
    assertEquals(InstanceStatus.SCALING_DOWN, InstanceStatus.parse("scaling_down"));
    assertEquals(InstanceStatus.RUNNING, InstanceStatus.parse(" Running "));
    assertEquals(InstanceStatus.UNKNOWN, InstanceStatus.parse("hibernating"));
    assertEquals(InstanceStatus.UNKNOWN, InstanceStatus.parse(null));
    assertEquals(List.of(InstanceStatus.INITIALIZING, InstanceStatus.READY, InstanceStatus.RUNNING),
        java.util.Arrays.stream(InstanceStatus.values()).filter(InstanceStatus::live).toList());
  }
}
