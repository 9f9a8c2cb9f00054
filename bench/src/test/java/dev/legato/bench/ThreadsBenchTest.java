package dev.legato.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ThreadsBenchTest {
  @Test
  void heapPerThreadIsNotAvailableWhenNoIdleThreadsWereMeasured() {
    assertEquals("n/a", ThreadsBench.kbPerThread(4096, 0));
    assertEquals("2.0", ThreadsBench.kbPerThread(4096, 2));
  }
}
