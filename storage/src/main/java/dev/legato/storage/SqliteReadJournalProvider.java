package dev.legato.storage;

import com.typesafe.config.Config;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.persistence.query.ReadJournalProvider;

/** Hooks {@link SqliteReadJournal} into Pekko Persistence Query ({@code legato.storage.query}). */
public final class SqliteReadJournalProvider implements ReadJournalProvider {
  private final SqliteReadJournal journal;

  public SqliteReadJournalProvider(ExtendedActorSystem system, Config config) {
    this.journal = new SqliteReadJournal(SessionStorage.get(system).databases());
  }

  @Override
  public SqliteReadJournal javadslReadJournal() {
    return journal;
  }

  @Override
  public org.apache.pekko.persistence.query.scaladsl.ReadJournal scaladslReadJournal() {
    return new org.apache.pekko.persistence.query.scaladsl.ReadJournal() {};
  }
}
