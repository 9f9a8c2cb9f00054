package dev.legato.podium.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class UnifiedDiffTest {

  @Test
  void removedLinesComeBeforeTheLinesThatReplaceThem() {
    assertEquals("""
        --- a/f
        +++ b/f
        @@ -1,3 +1,3 @@
         a
        -b
        +B
         c
        """, UnifiedDiff.of("f", List.of("a", "b", "c"), List.of("a", "B", "c")));
  }

  @Test
  void newAndDeletedFilesDiffAgainstDevNull() {
    assertEquals("--- /dev/null\n+++ b/f\n@@ -0,0 +1,1 @@\n+x\n", UnifiedDiff.of("f", null, List.of("x")));
    assertEquals("--- a/f\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-x\n", UnifiedDiff.of("f", List.of("x"), null));
  }
}
