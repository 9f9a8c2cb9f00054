package dev.legato.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The registry's commands, events, replies and refusals, with every message and state serialized. */
class ThreadRegistryTest {
  static final org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit testKit =
      org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit.create(EventSourcedBehaviorTestKit.config()
          .withFallback(ConfigFactory.parseString("legato.registry.snapshot-every = 3"))
          .withFallback(ConfigFactory.load()));
  static final RegistrySettings SETTINGS = RegistrySettings.from(testKit.system().settings().config());

  EventSourcedBehaviorTestKit<ThreadRegistry.Command, ThreadRegistry.Event, ThreadRegistry.State> registry;

  @BeforeEach
  void fresh() {
    registry = EventSourcedBehaviorTestKit.create(testKit.system(), ThreadRegistry.create("tenant-a", SETTINGS));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  ThreadSummary register(UUID id, String name, long at) {
    CommandResultWithReply<ThreadRegistry.Command, ThreadRegistry.Event, ThreadRegistry.State, StatusReply<ThreadSummary>> result =
        registry.runCommand(reply -> new ThreadRegistry.Register(id, name, "coder", at, "/work", reply));
    return result.reply().getValue();
  }

  ThreadRegistry.ThreadPage list(ThreadQuery query) {
    return registry.<StatusReply<ThreadRegistry.ThreadPage>>runCommand(reply -> new ThreadRegistry.ListThreads(query, reply))
        .reply().getValue();
  }

  @Test
  void registeringAThreadListsItAndASecondRegistrationIsRefused() {
    UUID id = UUID.randomUUID();
    ThreadSummary thread = register(id, "  first  ", 1000);
    assertEquals("first", thread.name());
    assertEquals(1000, thread.updatedAt());
    assertEquals(List.of(thread), list(ThreadQuery.firstPage()).threads());

    var again = registry.<StatusReply<ThreadSummary>>runCommand(reply -> new ThreadRegistry.Register(id, "x", "coder", 2000, null, reply));
    assertTrue(again.reply().isError());
    assertTrue(again.hasNoEvents());
    assertTrue(again.reply().getError().getMessage().contains("already registered"));
  }

  @Test
  void touchRenameAndArchiveChangeTheSummaryAndUnknownIdsAreRefused() {
    UUID id = UUID.randomUUID();
    register(id, "t", 1000);
    var touched = registry.runCommand(new ThreadRegistry.Touch(id, "  fix   the\nbuild  ", 5000));
    assertEquals(new ThreadRegistry.Touched(id, "fix the build", 5000), touched.event());
    registry.runCommand(new ThreadRegistry.Touch(UUID.randomUUID(), "ignored", 6000)); // unknown: no event
    var renamed = registry.<StatusReply<ThreadSummary>>runCommand(reply -> new ThreadRegistry.Rename(id, "Build fix", reply));
    assertEquals("Build fix", renamed.reply().getValue().name());
    var archived = registry.<StatusReply<ThreadSummary>>runCommand(reply -> new ThreadRegistry.SetArchived(id, true, 7000, reply));
    assertTrue(archived.reply().getValue().archived());
    assertEquals(7000, archived.reply().getValue().updatedAt());
    var again = registry.<StatusReply<ThreadSummary>>runCommand(reply -> new ThreadRegistry.SetArchived(id, true, 8000, reply));
    assertTrue(again.hasNoEvents(), "archiving an archived thread records nothing");

    assertEquals(List.of(), list(ThreadQuery.firstPage()).threads(), "archived threads leave the default listing");
    ThreadQuery archivedOnly = new ThreadQuery(ThreadQuery.Archived.ARCHIVED, null, ThreadQuery.SortBy.UPDATED, null, 0);
    assertEquals("fix the build", list(archivedOnly).threads().get(0).preview());

    UUID stranger = UUID.randomUUID();
    assertTrue(registry.<StatusReply<ThreadSummary>>runCommand(reply -> new ThreadRegistry.Rename(stranger, "x", reply)).reply().isError());
    assertTrue(registry.<StatusReply<ThreadSummary>>runCommand(reply -> new ThreadRegistry.Rename(id, "  ", reply)).reply().isError());
    assertTrue(registry.<StatusReply<Done>>runCommand(reply -> new ThreadRegistry.Unregister(stranger, reply)).reply().isError());
    assertTrue(registry.<StatusReply<ThreadSummary>>runCommand(reply -> new ThreadRegistry.Get(stranger, reply)).reply().isError());
  }

  @Test
  void thePreviewIsTheFirstUserMessageAndLaterTurnsOnlyMoveTheUpdateTime() {
    UUID id = UUID.randomUUID();
    register(id, "", 1000);
    registry.runCommand(new ThreadRegistry.Touch(id, "plan the harbour", 2000));
    var later = registry.runCommand(new ThreadRegistry.Touch(id, "and now the lighthouse", 3000));
    assertEquals(new ThreadRegistry.Touched(id, null, 3000), later.event(), "a later prompt records only the time");
    ThreadSummary thread = list(ThreadQuery.firstPage()).threads().get(0);
    assertEquals("plan the harbour", thread.preview());
    assertEquals(3000, thread.updatedAt());

    registry.restart();
    assertEquals("plan the harbour", list(ThreadQuery.firstPage()).threads().get(0).preview());
  }

  @Test
  void listingPagesThroughEveryThreadOnceInOrderAndFilters() {
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < 23; i++) {
      UUID id = UUID.randomUUID();
      ids.add(id);
      register(id, i % 2 == 0 ? "even " + i : "odd " + i, 1000 + (i % 5)); // many ties on purpose
    }
    List<ThreadSummary> seen = new ArrayList<>();
    String cursor = null;
    do {
      ThreadRegistry.ThreadPage page = list(new ThreadQuery(ThreadQuery.Archived.ALL, null, ThreadQuery.SortBy.CREATED, cursor, 5));
      assertTrue(page.threads().size() <= 5);
      seen.addAll(page.threads());
      cursor = page.nextCursor();
    } while (cursor != null);
    assertEquals(23, seen.size());
    assertEquals(23, seen.stream().map(ThreadSummary::threadId).distinct().count());
    for (int i = 1; i < seen.size(); i++) {
      assertTrue(seen.get(i - 1).createdAt() >= seen.get(i).createdAt(), "newest first");
    }
    ThreadRegistry.ThreadPage odd = list(new ThreadQuery(ThreadQuery.Archived.ALL, "ODD", ThreadQuery.SortBy.UPDATED, null, 100));
    assertEquals(11, odd.threads().size());
    assertNull(odd.nextCursor());

    assertTrue(registry.<StatusReply<ThreadRegistry.ThreadPage>>runCommand(reply -> new ThreadRegistry.ListThreads(
        new ThreadQuery(ThreadQuery.Archived.ALL, null, ThreadQuery.SortBy.UPDATED, "garbage", 5), reply)).reply().isError());
    assertTrue(registry.<StatusReply<ThreadRegistry.ThreadPage>>runCommand(reply -> new ThreadRegistry.ListThreads(
        new ThreadQuery(ThreadQuery.Archived.ALL, null, ThreadQuery.SortBy.UPDATED, null, 100_000), reply)).reply().isError());
  }

  @Test
  void unregisteredThreadsAreGoneAndTheStateSurvivesARestart() {
    UUID kept = UUID.randomUUID();
    UUID deleted = UUID.randomUUID();
    register(kept, "kept", 1000);
    register(deleted, "deleted", 2000);
    registry.runCommand(new ThreadRegistry.Touch(kept, "hello", 3000));
    registry.<StatusReply<Done>>runCommand(reply -> new ThreadRegistry.Unregister(deleted, reply));
    registry.restart(); // replays the snapshot (every 3 events here) and the events after it
    assertEquals(List.of(kept), list(ThreadQuery.firstPage()).threads().stream().map(ThreadSummary::threadId).toList());
    assertEquals("hello", list(ThreadQuery.firstPage()).threads().get(0).preview());
  }
}
