package dev.legato.gateway;

import static dev.legato.gateway.protocol.ClientParams.flag;
import static dev.legato.gateway.protocol.ClientParams.inputText;
import static dev.legato.gateway.protocol.ClientParams.text;
import static dev.legato.gateway.protocol.ClientParams.threadId;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.legato.gateway.protocol.ClientParams;
import dev.legato.gateway.protocol.CodexThreads;
import dev.legato.gateway.protocol.CodexThreads.PendingRequest;
import dev.legato.gateway.protocol.Json;
import dev.legato.gateway.protocol.JsonRpc.Failure;
import dev.legato.podium.AgentCommand;
import dev.legato.registry.ThreadSummary;
import dev.legato.thread.ThreadCommand;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.slf4j.Logger;

/**
 * The methods of a thread's turns: {@code turn/start}, {@code turn/steer}, {@code turn/interrupt}, and the
 * answers to the approvals and questions a turn waits for: the client's answer to our server request, or
 * the seed forms {@code item/approve} and {@code item/answer}. Used by its {@link Connection} only, on the
 * actor.
 */
final class TurnMethods {
  private final JsonRpcSession session;
  private final TenantThreads threads;
  private final Subscriptions subscriptions;
  private final ServerRequests requests;
  private final Logger log;

  TurnMethods(JsonRpcSession session, TenantThreads threads, Subscriptions subscriptions, ServerRequests requests,
              Logger log) {
    this.session = session;
    this.threads = threads;
    this.subscriptions = subscriptions;
    this.requests = requests;
    this.log = log;
  }

  /** Starts a turn; a client that does not follow the thread yet follows it first, to see the turn it starts. */
  void start(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    String text = inputText(params);
    if (text == null || text.isBlank()) {
      throw Failure.params("turn/start needs text: input [{type:\"text\", text}] (or text)");
    }
    session.await(id, threads.owned(threadId), summary -> startOwned(id, threadId, summary, text));
  }

  private void startOwned(JsonNode id, UUID threadId, ThreadSummary summary, String text) {
    if (!subscriptions.follows(threadId)) {
      subscriptions.follow(threadId, CodexThreads.started(summary), null);
    }
    // The turn's notifications wait for the answer that names it: from a thread on another node they can overtake
    // it (an ask's answer and a follower's updates travel apart), and a client would hear of a turn it never started.
    subscriptions.hold(threadId);
    session.await(id, threads.startTurn(threadId, text).handle(Settled::new), settled -> {
      try {
        ThreadCommand.TurnAccepted accepted = settled.value();
        session.reply(id, CodexThreads.turnStartResponse(accepted.turnId()));
        subscriptions.turnAccepted(threadId, accepted.turnId(), accepted.by());
      } finally {
        subscriptions.release(threadId);
      }
    });
  }

  /** What an ask came to, either way: its value, or why it failed (thrown as the client's error by {@link #value}). */
  private record Settled<T>(T answer, Throwable error) {
    T value() {
      if (error != null) {
        throw JsonRpcSession.failure(error);
      }
      return answer;
    }
  }

  /** Guidance for the running turn; refused when no turn runs. */
  void steer(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    String text = inputText(params);
    if (text == null || text.isBlank()) {
      throw Failure.params("turn/steer needs text: input [{type:\"text\", text}] (or content)");
    }
    session.answer(id, threads.owned(threadId, threads::status)
        .thenCompose(status -> steerRunning(threadId, status.answer(), text)));
  }

  private CompletionStage<ObjectNode> steerRunning(UUID threadId, ThreadCommand.ThreadStatus status, String text) {
    if (status.turnId() == null) {
      throw Failure.state("no turn is running");
    }
    return threads.steer(threadId, text).thenApply(done -> Json.object().put("turnId", status.turnId()));
  }

  void interrupt(JsonNode id, ObjectNode params) {
    UUID threadId = threadId(params);
    session.answer(id, threads.owned(threadId, threads::interrupt).thenApply(done -> Json.object()));
  }

  // ---- approvals and questions ---------------------------------------------------------------------------

  /**
   * The client's JSON-RPC answer to one of our server requests. The first answer wins: an answer to nothing
   * pending, or one the thread refuses, changes nothing. An error answer cancels the approval or dismisses the
   * question.
   */
  void answered(JsonRpcSession.Answer answer) {
    PendingRequest request = requests.answeredBy(answer.id());
    if (request == null) {
      return; // an answer to nothing we asked, or already answered elsewhere: the first answer won
    }
    if (answer.message().has("error")) {
      decide(request, AgentCommand.Decision.CANCEL, null, true, null);
      return;
    }
    try {
      JsonNode result = answer.message().path("result");
      if (request.isQuestion()) {
        decide(request, null, ClientParams.answers(result), false, null);
      } else {
        decide(request, decision(result), null, false, null);
      }
    } catch (Failure failure) {
      log.debug("unusable answer to {}: {}", request, failure.getMessage());
    }
  }

  /** {@code item/approve {requestId, approved | decision}}. */
  void approve(JsonNode id, ObjectNode params) {
    PendingRequest request = pending(params);
    String decision = text(params, "decision");
    AgentCommand.Decision chosen = decision != null ? decision(Json.object().put("decision", decision))
        : flag(params, "approved") ? AgentCommand.Decision.ACCEPT : AgentCommand.Decision.DECLINE;
    decide(request, chosen, null, false, id);
  }

  /** {@code item/answer {requestId, answers, dismissed}}. */
  void answer(JsonNode id, ObjectNode params) {
    PendingRequest request = pending(params);
    if (!request.isQuestion()) {
      throw Failure.state("request " + request.requestId() + " is an approval; answer it with item/approve");
    }
    decide(request, null, ClientParams.answers(params), flag(params, "dismissed"), id);
  }

  private PendingRequest pending(ObjectNode params) {
    String requestId = text(params, "requestId");
    if (requestId == null) {
      throw Failure.params("requestId is required");
    }
    PendingRequest request = requests.find(requestId);
    if (request == null) {
      throw Failure.state("no request " + requestId + " is pending on this connection's threads");
    }
    return request;
  }

  /** The decision in a client's answer; an answer that holds none is refused as bad params. */
  private static AgentCommand.Decision decision(JsonNode answer) {
    try {
      return ClientParams.decision(answer);
    } catch (IllegalArgumentException e) {
      throw Failure.params(e.getMessage());
    }
  }

  /** Answers the thread; {@code replyId} when the answer came as a request (seed forms) that wants a reply. */
  private void decide(PendingRequest request, AgentCommand.Decision decision, Map<String, List<String>> answers,
                      boolean dismissed, JsonNode replyId) {
    CompletionStage<Done> answered = request.isQuestion()
        ? threads.answerQuestion(request.threadId(), request.requestId(), answers, dismissed)
        : threads.answerApproval(request.threadId(), request.requestId(), decision);
    if (replyId != null) {
      session.answer(replyId, answered.thenApply(done -> Json.object()));
    } else {
      answered.whenComplete((done, error) -> {
        if (error != null) {
          log.debug("answer to {} refused: {}", request, error.getMessage());
        }
      });
    }
  }
}
