package dev.legato.gateway;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/** What every logger says from now until {@link #close}, kept for a test to read. */
final class CapturedLog implements AutoCloseable {
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

  CapturedLog() {
    logged.start();
    root.addAppender(logged);
  }

  /** Every event so far. */
  List<ILoggingEvent> events() {
    return logged.list;
  }

  /** The INFO lines of {@code logger} so far, formatted. */
  List<String> info(Class<?> logger) {
    return logged.list.stream()
        .filter(e -> e.getLevel() == Level.INFO && e.getLoggerName().equals(logger.getName()))
        .map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Override
  public void close() {
    root.detachAppender(logged);
  }
}
