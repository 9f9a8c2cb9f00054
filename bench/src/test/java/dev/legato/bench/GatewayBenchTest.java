package dev.legato.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class GatewayBenchTest {
  @Test
  void theMedianOfRoundsTakesEachFigureOnItsOwn() {
    GatewayBench.Load median = GatewayBench.median(List.of(
        new GatewayBench.Load(100, 5, 900, 3),
        new GatewayBench.Load(300, 1, 100, 2),
        new GatewayBench.Load(200, 9, 500, 1)));
    assertEquals(new GatewayBench.Load(200, 5, 500, 2), median);
  }
}
