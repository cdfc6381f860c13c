// The gateway's own routes on its HTTP edge (the edge serves /healthz, /readyz and /metrics):
// GraphQL over HTTP and, on the same URL, subscriptions over WebSocket; and its readiness.
import type { ApolloServer } from "@apollo/server";
import { fastifyApolloHandler } from "@as-integrations/fastify";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { request as httpRequest } from "undici";
import { enableWebSockets, errorBody, type Edge, type ReadinessCheck, type Upstream } from "@pooya/runtime";
import type { KeyStore } from "@pooya/identity";
import type { CompiledOperations } from "./compiled-operations.ts";
import type { GatewayContext } from "./context.ts";
import type { createSubscriptionGateway } from "./subscriptions.ts";
import type { trustedDocumentsHandler } from "./trusted-documents.ts";
import { withCacheHeaders } from "./cache-policy.ts";

/** POST /graphql, and GET /graphql: a query over HTTP, or the WebSocket upgrade for subscriptions. */
export async function serveGraphql(
  edge: Edge,
  parts: {
    apollo: ApolloServer<GatewayContext>;
    context: (request: FastifyRequest) => Promise<GatewayContext>;
    /** Queries answered without Apollo Server's pipeline (undefined: off). */
    compiledOperations?: CompiledOperations;
    /** Trusted documents, before Apollo sees the request. */
    preHandler: ReturnType<typeof trustedDocumentsHandler>;
    subscriptions: Pick<ReturnType<typeof createSubscriptionGateway>, "handler">;
    maxResponseBytes: number;
  },
) {
  const { maxResponseBytes, preHandler } = parts;
  const graphql = fastifyApolloHandler<GatewayContext>(parts.apollo, { context: parts.context });
  const { compiledOperations } = parts;
  async function graphqlOverHttp(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const payload =
      (await compiledOperations?.serve(request, reply)) ??
      (await graphql.call(this, request as Parameters<typeof graphql>[0], reply as Parameters<typeof graphql>[1]));
    // The last line of demand control: an answer too large to serve is refused, not sent.
    if (typeof payload === "string" && Buffer.byteLength(payload) > maxResponseBytes) {
      void reply.code(400);
      return JSON.stringify(
        errorBody(
          `The answer is larger than ${maxResponseBytes} bytes; ask for fewer items (paginate).`,
          "RESPONSE_TOO_LARGE",
          { maxBytes: maxResponseBytes },
        ),
      );
    }
    return payload;
  }
  await enableWebSockets(edge);
  edge.app.post("/graphql", { preHandler }, graphqlOverHttp);
  // GET: a query over HTTP, or the WebSocket upgrade for subscriptions (same URL). No HEAD:
  // Apollo answers only GET and POST.
  edge.app.route({
    method: "GET",
    url: "/graphql",
    exposeHeadRoute: false,
    preHandler,
    handler: withCacheHeaders(graphqlOverHttp), // Cache-Control of GET answers
    wsHandler: parts.subscriptions.handler,
  });
}

/**
 * Ready unless it cannot serve at all: apollo.start() resolved only once the supergraph loaded,
 * so that leaves token keys never loaded. The subgraphs are reported, not required: a subgraph
 * that is down costs its own fields, not the whole gateway.
 */
export function gatewayReadiness(
  accessTokenKeys: KeyStore,
  upstreams: Map<string, Upstream>,
  subgraphUrls: Partial<Record<string, string>>,
): ReadinessCheck {
  return async () => {
    if (!accessTokenKeys.status().loaded) await accessTokenKeys.load();
    const keys = accessTokenKeys.status();
    const subgraphs = Object.fromEntries(
      await Promise.all(
        [...upstreams].map(async ([name, upstream]) => {
          const readyz = new URL("/readyz", subgraphUrls[name] ?? upstream.baseUrl).href;
          const ready = await httpRequest(readyz, { signal: AbortSignal.timeout(1_000) }).then(
            async (r) => {
              await r.body.dump();
              return r.statusCode === 200;
            },
            () => false,
          );
          return [name, { ready, breaker: upstream.status() }] as const;
        }),
      ),
    );
    return { ready: keys.loaded, supergraph: true, accessTokenKeys: keys, subgraphs };
  };
}
