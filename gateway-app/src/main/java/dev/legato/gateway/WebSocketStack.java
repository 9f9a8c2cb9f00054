package dev.legato.gateway;

import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.event.Logging;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameEvent$;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.UpgradeToWebSocketLowLevel;
import org.apache.pekko.http.impl.engine.ws.WebSocket$;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.scaladsl.settings.ServerSettings$;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;
import org.apache.pekko.stream.javadsl.Flow;
import scala.Option;
import scala.concurrent.duration.FiniteDuration;

/**
 * Pekko HTTP's own WebSocket stack around a connection's messages, except that the socket ends with the close
 * code the connection chose (1001 going away, 1009 too big, ...) rather than always 1000.
 *
 * <p>Pekko HTTP (1.3) has no public way for a server to pick its close code: a handler that completes closes
 * with 1000, one that fails with 1011. So this builds the same stack {@code handleMessagesWith} builds (its
 * internal {@code WebSocket.stack}: masking, frame handling, keep-alive, messages) and replaces the one close
 * frame the server sends by the chosen one. It relies on Pekko HTTP internals; {@code GatewayCloseCodesTest}
 * checks every code with a real client, so an upgrade that changes them fails there.
 */
final class WebSocketStack {
  private static final byte CLOSE = 8; // the close frame's opcode (RFC 6455, 5.5.1)
  private static final FiniteDuration CLOSE_TIMEOUT = WebSocket$.MODULE$.stack$default$3();

  private final WebSocketSettings settings;
  private final LoggingAdapter log;

  WebSocketStack(ActorSystem system) {
    this.settings = ServerSettings$.MODULE$.apply(system.settings().config()).websocketSettings();
    this.log = Logging.getLogger(system, WebSocketStack.class);
  }

  /**
   * The upgrade's response: {@code messages} handle the socket; {@code closing} says, when the server closes
   * it, with which code (null: Pekko HTTP's own).
   */
  HttpResponse handle(WebSocketUpgrade upgrade, Flow<Message, Message, NotUsed> messages,
                      Supplier<Outbox.CloseFrame> closing) {
    org.apache.pekko.stream.scaladsl.Flow<org.apache.pekko.http.scaladsl.model.ws.Message,
        org.apache.pekko.http.scaladsl.model.ws.Message, NotUsed> scalaMessages =
        Flow.<org.apache.pekko.http.scaladsl.model.ws.Message>create()
            .map(Message::adapt)
            .via(messages)
            .map(Message::asScala)
            .asScala();
    Flow<FrameEvent, FrameEvent, NotUsed> frames = WebSocket$.MODULE$.stack(true, settings, CLOSE_TIMEOUT, log)
        .join(scalaMessages)
        .asJava()
        .map(frame -> {
          Outbox.CloseFrame chosen;
          if (frame instanceof FrameStart start && start.header().opcode().code() == CLOSE
              && (chosen = closing.get()) != null) {
            String reason = chosen.reason().length() > 100 ? chosen.reason().substring(0, 100) : chosen.reason();
            return FrameEvent$.MODULE$.closeFrame(chosen.code(), reason, Option.empty()); // at most 123 bytes
          }
          return frame;
        });
    @SuppressWarnings({"unchecked", "rawtypes"}) // a Scala Graph[..., Any] is a Graph<..., Object> in Java
    org.apache.pekko.stream.Graph<org.apache.pekko.stream.FlowShape<FrameEvent, FrameEvent>, Object> graph =
        (org.apache.pekko.stream.Graph) frames;
    return ((UpgradeToWebSocketLowLevel) upgrade).handleFrames(graph, Option.empty());
  }
}
