package dev.legato.storage;

import org.apache.pekko.persistence.CapabilityFlag;
import org.apache.pekko.persistence.japi.snapshot.JavaSnapshotStoreSpec;

/** The Pekko persistence TCK for the snapshot store, with every capability the plugin has switched on. */
public class SqliteSnapshotStoreTckSpec extends JavaSnapshotStoreSpec {
  public SqliteSnapshotStoreTckSpec() {
    super(TestConfigs.storage(TestConfigs.tempDataDir("legato-snapshot-tck")));
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
