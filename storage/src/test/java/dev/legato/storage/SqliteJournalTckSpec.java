package dev.legato.storage;

import org.apache.pekko.persistence.CapabilityFlag;
import org.apache.pekko.persistence.japi.journal.JavaJournalSpec;

/** The Pekko persistence TCK for the journal, with every capability the plugin has switched on. */
public class SqliteJournalTckSpec extends JavaJournalSpec {
  public SqliteJournalTckSpec() {
    super(TestConfigs.storage(TestConfigs.tempDataDir("legato-journal-tck")));
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
