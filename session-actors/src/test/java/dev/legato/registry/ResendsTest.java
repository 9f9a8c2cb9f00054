package dev.legato.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.legato.thread.ThreadCommand;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Asks a moving or swallowed shard would leave waiting for ask-timeout are sent again: at once after "moving", after
 * {@link Resends#UNANSWERED} when no answer came; the first success is the answer, and a refusal ends it.
 */
class ResendsTest {
  static final ActorTestKit kit = ActorTestKit.create(ConfigFactory.parseString("""
      pekko.actor.provider = cluster
      pekko.remote.artery.canonical.port = 0
      pekko.remote.artery.canonical.hostname = "127.0.0.1"
      """).withFallback(ConfigFactory.load()));
  static final Resends resends = Resends.get(kit.system());

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  /** An ask whose copies answer, in turn, as {@code answers} says (the last one for any copy after). */
  private static CompletionStage<String> ask(AtomicInteger copies, List<CompletionStage<String>> answers) {
    return resends.ask(() -> answers.get(Math.min(copies.getAndIncrement(), answers.size() - 1)));
  }

  @Test
  void aThreadOrARegistryThatSaysItIsMovingIsAskedAgainUntilItAnswers() throws Exception {
    AtomicInteger copies = new AtomicInteger();
    CompletionStage<String> moving = CompletableFuture.failedFuture(new StatusReply.ErrorMessage(ThreadCommand.MOVING));
    CompletionStage<String> registryMoving =
        CompletableFuture.failedFuture(new StatusReply.ErrorMessage(dev.legato.registry.ThreadRegistry.MOVING));
    String answer = ask(copies, List.of(moving, registryMoving, CompletableFuture.completedFuture("turn_1")))
        .toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertEquals("turn_1", answer);
    assertEquals(3, copies.get());
  }

  @Test
  void anAskWithoutAnAnswerIsSentAgainAndTheCopysAnswerIsTheAnswer() throws Exception {
    AtomicInteger copies = new AtomicInteger();
    long began = System.nanoTime();
    String answer = ask(copies, List.of(new CompletableFuture<>(), CompletableFuture.completedFuture("read")))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals("read", answer);
    assertEquals(2, copies.get());
    assertTrue(System.nanoTime() - began >= Resends.UNANSWERED.toNanos(), "not sent again before it was due");
  }

  @Test
  void aRefusalIsTheAnswerAndIsNotSentAgain() throws Exception {
    AtomicInteger copies = new AtomicInteger();
    CompletableFuture<String> asked = ask(copies,
        List.of(CompletableFuture.failedFuture(new StatusReply.ErrorMessage("unknown thread")))).toCompletableFuture();
    Executable get = () -> asked.get(5, TimeUnit.SECONDS);
    ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, get);
    assertEquals("unknown thread", refused.getCause().getMessage());
    Thread.sleep(Resends.UNANSWERED.toMillis() + 500);
    assertEquals(1, copies.get(), "a settled ask is not sent again");
  }
}
