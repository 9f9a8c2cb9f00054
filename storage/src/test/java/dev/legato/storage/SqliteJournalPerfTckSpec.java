package dev.legato.storage;

import org.apache.pekko.persistence.CapabilityFlag;
import org.apache.pekko.persistence.japi.journal.JavaJournalPerfSpec;

/**
 * The TCK's journal performance spec: persisting, recovering and replaying with real persistent actors.
 * It prints its timings; it fails only when the journal loses, reorders or stalls messages.
 */
public class SqliteJournalPerfTckSpec extends JavaJournalPerfSpec {
  public SqliteJournalPerfTckSpec() {
    super(TestConfigs.storage(TestConfigs.tempDataDir("legato-journal-perf-tck")));
  }

  @Override
  public CapabilityFlag supportsRejectingNonSerializableObjects() {
    return CapabilityFlag.on();
  }

  @Override
  public CapabilityFlag supportsSerialization() {
    return CapabilityFlag.on();
  }

  @Override
  public CapabilityFlag supportsMetadata() {
    return CapabilityFlag.on();
  }
}
