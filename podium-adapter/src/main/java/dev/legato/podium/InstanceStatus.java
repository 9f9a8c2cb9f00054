package dev.legato.podium;

import java.util.Locale;

/** An instance's lifecycle state as Podium reports it. */
public enum InstanceStatus {
  DEPLOYING, INITIALIZING, READY, RUNNING, SCALING_DOWN, SHUTTING_DOWN, TERMINATED, UNKNOWN;

  /** Whether the instance can still take messages: what thread/resume checks before reconnecting. */
  public boolean live() {
    return this == INITIALIZING || this == READY || this == RUNNING;
  }

  static InstanceStatus parse(String status) {
    if (status == null) {
      return UNKNOWN;
    }
    try {
      return valueOf(status.strip().toUpperCase(Locale.ROOT).replace('-', '_').replace(' ', '_'));
    } catch (IllegalArgumentException unknown) {
      return UNKNOWN;
    }
  }
}
