package dev.legato.gateway;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code legato.gateway.max-connections-per-address}: how many WebSockets one client address may hold open.
 * A socket takes a place when its upgrade is accepted (so that a burst of upgrades cannot pass the cap
 * together) and gives it back when it ends.
 */
final class AddressLimit {
  private final int max;
  private final boolean limitLoopback;
  private final ConcurrentHashMap<InetAddress, Integer> open = new ConcurrentHashMap<>();

  AddressLimit(int max, boolean limitLoopback) {
    this.max = max;
    this.limitLoopback = limitLoopback;
  }

  /** A place for one more socket from this address, or null when it holds its maximum already. */
  Place take(InetAddress address) {
    if (max <= 0 || (address.isLoopbackAddress() && !limitLoopback)) {
      return new Place(null);
    }
    boolean[] taken = new boolean[1];
    open.compute(address, (a, count) -> {
      int now = count == null ? 0 : count;
      taken[0] = now < max;
      return taken[0] ? now + 1 : count;
    });
    return taken[0] ? new Place(address) : null;
  }

  int max() {
    return max;
  }

  /** One socket's place; giving it back twice is harmless. */
  final class Place {
    private final InetAddress address;
    private final AtomicBoolean given = new AtomicBoolean();

    private Place(InetAddress address) {
      this.address = address;
    }

    /** Whether this place counts against a cap (not when there is none for its address). */
    boolean counted() {
      return address != null;
    }

    void giveBack() {
      if (address != null && given.compareAndSet(false, true)) {
        open.computeIfPresent(address, (a, count) -> count <= 1 ? null : count - 1);
      }
    }
  }
}
