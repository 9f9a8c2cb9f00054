package dev.legato.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class DeltaCountTest {
  @Test
  void oneUpdateCarryingABatchOfDeltasCountsEveryDelta() {
    DeltaCount count = new DeltaCount(16);
    assertEquals(256, count.add(256 * 16)); // a link batch of 256 deltas, delivered as one update
    assertEquals(1, count.add(16));
  }

  @Test
  void aDeltaSplitAcrossUpdatesCountsOnceWhenItsLastCharacterArrives() {
    DeltaCount count = new DeltaCount(16);
    assertEquals(0, count.add(10));
    assertEquals(1, count.add(10));
    assertEquals(1, count.add(12));
    assertEquals(0, count.add(0));
  }

  @Test
  void aDeltaSizeBelowOneIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new DeltaCount(0));
  }
}
