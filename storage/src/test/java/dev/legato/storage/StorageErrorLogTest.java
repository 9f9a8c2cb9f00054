package dev.legato.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** A write that fails is one line in the log, naming the thread, without a stack trace. */
class StorageErrorLogTest {
  @TempDir Path dataDir;
  ActorSystem system;
  final Logger storageLogs = (Logger) LoggerFactory.getLogger("dev.legato.storage");
  final ListAppender<ILoggingEvent> logged = new ListAppender<>();

  @AfterEach
  void stop() {
    storageLogs.detachAppender(logged);
    if (system != null) {
      TestKit.shutdownActorSystem(system);
    }
  }

  @Test
  void aFailedWriteLogsOneLineWithTheThreadId() throws Exception {
    logged.start();
    storageLogs.addAppender(logged);
    system = ActorSystem.create("storage-log",
        TestConfigs.storage(dataDir, "legato.storage.max-database-size = 256KiB"));
    JournalProbe journal = new JournalProbe(system);
    UUID thread = UUID.randomUUID();
    String full = StorageLayout.threadPersistenceId(thread);
    Object last = null;
    for (long seq = 1; seq < 200; seq++) {
      last = journal.writeOne(full, seq, "x".repeat(3000) + seq).get(0);
      if (!(last instanceof JournalProtocol.WriteMessageSuccess)) {
        break;
      }
    }
    assertInstanceOf(JournalProtocol.WriteMessagesFailed.class, last);
    List<ILoggingEvent> errors = logged.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).toList();
    assertEquals(1, errors.size(), errors.toString());
    assertEquals(Level.ERROR, errors.get(0).getLevel());
    assertTrue(errors.get(0).getFormattedMessage().contains(thread.toString()), errors.get(0).getFormattedMessage());
    assertTrue(errors.get(0).getFormattedMessage().contains("full"), errors.get(0).getFormattedMessage());
    assertNull(errors.get(0).getThrowableProxy(), "without a stack trace");
  }
}
