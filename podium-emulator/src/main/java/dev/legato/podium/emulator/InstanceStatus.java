package dev.legato.podium.emulator;

import java.util.Locale;

/** The contract's instance statuses; the emulator uses initializing, ready, running, terminated. */
enum InstanceStatus {
  DEPLOYING, INITIALIZING, READY, RUNNING, SCALING_DOWN, SHUTTING_DOWN, TERMINATED;

  String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
