package dev.legato.podium.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The instances of one emulator. Ids count up ({@code inst_000001}, {@code agent_000001}) so a
 * test sees the same ids on every run. Terminated instances stay visible (status terminated), as
 * the contract lets a client find them on resume; deleted ones are gone.
 */
final class InstanceTable {
  private final ConcurrentHashMap<String, Instance> instances = new ConcurrentHashMap<>();
  private final AtomicLong counter = new AtomicLong();

  Instance create(Deployment deployment, ObjectNode config) {
    long n = counter.incrementAndGet();
    Instance instance = new Instance(
        String.format("inst_%06d", n), String.format("agent_%06d", n), deployment, config, Instant.now());
    instances.put(instance.id(), instance);
    return instance;
  }

  Optional<Instance> find(String id) {
    return Optional.ofNullable(instances.get(id));
  }

  /** Terminates and forgets the instance; false when it was unknown. */
  boolean delete(String id) {
    Instance removed = instances.remove(id);
    if (removed == null) {
      return false;
    }
    removed.terminate("deleted");
    return true;
  }

  Collection<Instance> all() {
    return List.copyOf(instances.values());
  }

  void scaleIdleToZero(Duration idleTimeout) {
    instances.values().forEach(instance -> instance.terminateIfIdle(idleTimeout));
  }

  /** id → wire status, in creation order. */
  Map<String, String> statuses() {
    Map<String, String> out = new LinkedHashMap<>();
    instances.values().stream()
        .sorted((a, b) -> a.id().compareTo(b.id()))
        .forEach(instance -> out.put(instance.id(), instance.status().wireName()));
    return out;
  }

  void terminateAll() {
    instances.values().forEach(instance -> instance.terminate("emulator stopped"));
  }
}
