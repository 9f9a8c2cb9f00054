package dev.legato.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.parameterList;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import dev.legato.gateway.auth.AuthDirectives;
import dev.legato.gateway.auth.GatewayAuth;
import dev.legato.gateway.auth.Identity;
import dev.legato.gateway.protocol.Json;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The operators' routes under {@code /admin}: the cluster ({@code /admin/cluster}: members, shards and entities
 * per node), this node's threads ({@code /admin/threads}), one thread wherever it lives
 * ({@code /admin/threads/{id}}) and an operator's restore. Operators only (see {@link #operator}).
 */
final class AdminRoutes {
  private AdminRoutes() {}

  static Route routes(ActorSystem<?> system, GatewaySettings settings, GatewayAuth auth, Executor blocking) {
    Operations operations = new Operations(system, settings.askTimeout());
    ClusterView cluster = new ClusterView(system, settings.askTimeout());
    return pathPrefix("admin", () -> AuthDirectives.authenticated(auth, blocking, identity -> concat(
        path("cluster", () -> get(() -> operator(identity, () -> parameterList(query -> query.isEmpty()
            ? onSuccess(cluster.describe(), AdminRoutes::json)
            : complete(StatusCodes.BAD_REQUEST, "unknown query parameter '" + query.get(0).getKey()
                + "': /admin/cluster takes none"))))),
        path("threads", () -> get(() -> operator(identity, () -> parameterList(query -> {
          int limit;
          try {
            limit = Operations.limit(query);
          } catch (IllegalArgumentException e) {
            return complete(StatusCodes.BAD_REQUEST, e.getMessage());
          }
          return onSuccess(operations.threads(limit), AdminRoutes::json);
        })))),
        path(segment("threads").slash(segment()), id -> get(() -> operator(identity, () -> parameterList(query -> {
          UUID threadId;
          try {
            Operations.noParameters(query);
            threadId = Operations.threadId(id);
          } catch (IllegalArgumentException e) {
            return complete(StatusCodes.BAD_REQUEST, e.getMessage());
          }
          return onSuccess(operations.thread(threadId).thenCompose(found -> cluster.withPlace(threadId, found)),
              thread -> thread.map(AdminRoutes::json)
                  .orElseGet(() -> complete(StatusCodes.NOT_FOUND, "no thread " + threadId)));
        })))),
        path(segment("threads").slash(segment()).slash("restore"), id -> post(() -> operator(identity, () -> parameterList(query -> {
          UUID threadId;
          java.time.Instant at;
          try {
            threadId = Operations.threadId(id);
            at = Operations.restoreAt(query);
          } catch (IllegalArgumentException e) {
            return complete(StatusCodes.BAD_REQUEST, e.getMessage());
          }
          return onSuccess(operations.restore(threadId, at), answer -> complete(HttpResponse.create()
              .withStatus(answer.status()).withEntity(ContentTypes.APPLICATION_JSON, Json.write(answer.body()))));
        })))))));
  }

  /**
   * The operations routes show every tenant's threads and the node's totals: operators only. A tenant has
   * its own threads through the protocol ({@code thread/list}, {@code thread/read}).
   */
  static Route operator(Identity identity, Supplier<Route> inner) {
    return identity.admin() ? inner.get() : complete(StatusCodes.FORBIDDEN,
        "this route is for operators: send an admin key (legato.gateway.auth.admin-keys) or a token with the"
            + " admin claim (legato.gateway.auth.jwt.admin-claim)");
  }

  static Route json(JsonNode body) {
    return complete(HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, Json.write(body)));
  }
}
