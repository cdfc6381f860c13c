// Boots one subgraph: schema from its SDL, identity from the gateway's assertion, the HTTP edge
// (health, readiness on its own database), its own routes; stop() drains and closes in order.
import { ApolloServer } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { fastifyApolloHandler } from "@as-integrations/fastify";
import { buildSubgraphSchema, type GraphQLResolverMap } from "@apollo/subgraph";
import type { DocumentNode } from "graphql";
import type { FastifyInstance } from "fastify";
import { readFileSync } from "node:fs";
import { gql } from "graphql-tag";
import { maskUnexpectedErrors } from "@pooya/runtime";
import { databaseUrlOf } from "@pooya/runtime";
import { IDENTITY_ASSERTION_HEADER, createIdentityAssertionVerifier, type Caller, type Viewer } from "@pooya/identity";
import { createEdge } from "@pooya/runtime";
import { createKeyStore } from "@pooya/identity";
import { callersOf, type InternalRoute } from "@pooya/runtime";
import {
  SERVICE_KEYS_PATH,
  createServiceTokenVerifier,
  guardInternalRoutes,
  type ServiceIdentity,
} from "@pooya/identity";
import { requestShapePlugin, rootFieldSpansPlugin } from "@pooya/runtime";
import { tracingEnabled } from "@pooya/runtime/tracing";
import { graphqlMetricsPlugin, type Metrics } from "@pooya/runtime";
import { storableTextPlugin } from "@pooya/runtime";
import { compiledExecutor } from "./executor.ts";
import { collectingWrittenEntities, invalidationPlugin } from "./invalidation.ts";
import { boundedKeyValueCache, documentBytes, drainDeadline } from "@pooya/runtime";
import { SESSION_EXPIRED, enableWebSockets, graphqlOverWebSocket, prepareOperation } from "@pooya/runtime";
import type { SqlStatementCounter } from "./database.ts";
import { guardResolvers, type Policies } from "./authorization.ts";
import type { Logger } from "@pooya/runtime";

/** The parsed operations a subgraph keeps (the gateway's fetches): entries and estimated heap. */
const SUBGRAPH_DOCUMENT_CACHE = { maxEntries: 2_000, maxBytes: 32 * 1024 * 1024 };

export function loadSchemaFile(url: URL): DocumentNode {
  return gql(readFileSync(url, "utf8"));
}

/** What every subgraph needs to serve, from its variables (see subgraphVariables). */
export interface SubgraphSettings {
  port: number;
  host: string;
  /** Listen with SO_REUSEPORT (REUSE_PORT). */
  reusePort: boolean;
  databaseUrl: string;
  databasePoolSize: number;
  /** Where the gateway publishes the keys that sign identity assertions. */
  gatewayJwksUrl: string;
  production: boolean;
  shutdownTimeoutMs: number;
  keysRefreshMs: number;
  metricsAllowFrom: string[];
  /** GET /metrics on a listener of its own (METRICS_PORT); unset: on `port`. */
  metricsPort?: number;
  /** How operations run: compiled by graphql-jit once they repeat, or interpreted by graphql-js. */
  executor: "compiled" | "graphql-js";
}

/** The common variables of a subgraph, as settings. */
export function subgraphSettings(name: string, vars: Record<string, unknown>): SubgraphSettings {
  return {
    port: vars.PORT as number,
    host: vars.HOST as string,
    reusePort: vars.REUSE_PORT === true,
    databaseUrl: databaseUrlOf(name, vars)!, // the descriptor's check made sure there is one
    databasePoolSize: vars.DATABASE_POOL_SIZE as number,
    gatewayJwksUrl: vars.GATEWAY_JWKS_URL as string,
    production: vars.NODE_ENV === "production",
    shutdownTimeoutMs: vars.SHUTDOWN_TIMEOUT_MS as number,
    keysRefreshMs: vars.KEYS_REFRESH_MS as number,
    metricsAllowFrom: vars.METRICS_ALLOW_FROM as string[],
    metricsPort: vars.METRICS_PORT as number | undefined,
    executor: (vars.GRAPHQL_EXECUTOR as SubgraphSettings["executor"] | undefined) ?? "compiled",
  };
}

interface ServiceDatabase {
  sqlStatements: SqlStatementCounter;
  pool: { totalCount: number; idleCount: number; waitingCount: number };
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export async function serveSubgraph<TContext extends { viewer: Viewer }>(options: {
  name: string;
  settings: SubgraphSettings;
  log: Logger;
  /** The service's registry (created first, so its domain metrics can join). */
  metrics: Metrics;
  schema: URL;
  /** Typed where they are written (generated `Resolvers` from schema.graphql); any resolver map here. */
  resolvers: object;
  /** The named policies its schema's @policy directives name (see authorization.ts). */
  policies?: Policies<never>;
  db: ServiceDatabase;
  /** A fresh context per request, for the verified caller (DataLoaders live here). */
  createContext: (viewer: Viewer, caller: Caller) => TContext;
  /** The service's own HTTP routes (JWKS, internal endpoints). */
  routes?: (app: FastifyInstance) => void;
  /** The internal routes it serves and who may call each (its descriptor's); where each caller publishes its keys. */
  internalRoutes?: readonly InternalRoute[];
  callerUrls?: Record<string, string>;
  /** A service that calls others: its keys, published at SERVICE_KEYS_PATH for the services it calls. */
  identity?: ServiceIdentity;
  /** Serves subscriptions over WebSocket (graphql-transport-ws) on /graphql, for the gateway's relay. */
  subscriptions?: boolean;
  /** More readiness details (reported, not required). */
  readinessDetails?: () => Record<string, unknown>;
}) {
  const { settings, db, log } = options;
  const gatewayKeys = createKeyStore({
    name: "gateway assertion",
    url: settings.gatewayJwksUrl,
    log,
    refreshAfterMs: settings.keysRefreshMs,
  });
  const verifyIdentityAssertion = createIdentityAssertionVerifier(gatewayKeys.getKey, gatewayKeys);
  const typeDefs = loadSchemaFile(options.schema);
  const refusals = options.metrics.counter(
    "authorization_refusals_total",
    "Guarded fields refused by this subgraph, by field (Type.field) and rule (authenticated, requiresScopes, policy:<names>)",
    ["field", "rule"] as const,
  );
  // The schema's @authenticated, @requiresScopes and @policy, checked before the resolvers run.
  const resolvers = guardResolvers(typeDefs, options.resolvers, options.policies, (field, rule) =>
    refusals.inc({ field, rule }),
  );
  const schema = buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }]);
  const formatError = maskUnexpectedErrors({ log, production: settings.production });
  const executor = settings.executor === "compiled" ? compiledExecutor(schema) : undefined;
  if (executor) options.metrics.trackCache(executor.cache);
  // The operations a subgraph parses are the gateway's fetches (as many as its query plans);
  // Apollo's default store would keep 30 MiB of their JSON, about four times that in heap.
  const documentStore = boundedKeyValueCache<DocumentNode>("documents", SUBGRAPH_DOCUMENT_CACHE, documentBytes);
  options.metrics.trackCache(documentStore.cache);
  const apollo = new ApolloServer<TContext>({
    ...(executor ? { gateway: executor.gateway } : { schema }),
    documentStore,
    formatError,
    logger: log,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: settings.production,
    stopOnTerminationSignals: false, // the process owns shutdown, in order
    // The gateway reads answers, not people: compact JSON.
    stringifyResult: JSON.stringify,
    // No GraphOS here: federated traces (ftv1) would only cost time. The @cacheControl hints
    // are the gateway's to read (gateway/src/cache-policy.ts): no hook on every field here.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      requestShapePlugin(),
      storableTextPlugin(),
      graphqlMetricsPlugin(options.metrics),
      invalidationPlugin(options.name),
      ...(tracingEnabled() ? [rootFieldSpansPlugin()] : []),
    ],
  });
  await apollo.start();

  options.metrics.gauge(
    "db_pool_connections",
    "The service's database pool: connections in use, idle, and requests waiting for one",
    ["state"] as const,
    (set) => {
      set({ state: "in_use" }, db.pool.totalCount - db.pool.idleCount);
      set({ state: "idle" }, db.pool.idleCount);
      set({ state: "waiting" }, db.pool.waitingCount);
    },
  );
  const edge = await createEdge({
    log,
    audience: "services",
    metrics: options.metrics,
    metricsAllowFrom: settings.metricsAllowFrom,
    metricsPort: settings.metricsPort,
  });
  if (options.subscriptions) await enableWebSockets(edge);
  // Each request notes the entities its writes change (for extensions.invalidation).
  const graphqlHandler = collectingWrittenEntities(
    fastifyApolloHandler<TContext>(apollo, {
      context: async (request) => {
        const header = request.headers[IDENTITY_ASSERTION_HEADER];
        const caller = await verifyIdentityAssertion(Array.isArray(header) ? header[0] : header);
        return options.createContext(caller.viewer, caller);
      },
    }),
  );
  edge.app.post("/graphql", graphqlHandler);
  edge.app.route({
    method: "GET",
    url: "/graphql",
    exposeHeadRoute: false, // Apollo answers only GET and POST
    handler: graphqlHandler,
    // The gateway relays subscriptions here: it opens a socket per client connection with a
    // signed identity in connection_init; the socket ends when the user's access token does.
    ...(options.subscriptions
      ? {
          wsHandler: graphqlOverWebSocket<{ caller: Caller }>(
            {
              async onConnect(ctx) {
                const assertion = ctx.connectionParams?.identityAssertion;
                const caller = await verifyIdentityAssertion(
                  typeof assertion === "string" ? assertion : undefined,
                ).catch(() => undefined);
                if (!caller?.viewer) return false; // 4403
                ctx.extra.caller = caller;
                if (caller.sessionExpiresAt) {
                  const socket = ctx.extra.socket;
                  const timer = setTimeout(
                    () => socket.close(SESSION_EXPIRED.code, SESSION_EXPIRED.reason),
                    caller.sessionExpiresAt * 1000 - Date.now(),
                  );
                  socket.once("close", () => clearTimeout(timer));
                }
                return true;
              },
              onSubscribe(ctx, _id, payload) {
                const prepared = prepareOperation(schema, payload);
                if (Array.isArray(prepared)) return prepared;
                const caller = ctx.extra.caller!;
                return { ...prepared.args, contextValue: options.createContext(caller.viewer, caller) };
              },
            },
            { log, formatError },
          ),
        }
      : {}),
  });
  if (options.identity) {
    const { jwks } = options.identity;
    edge.app.get(SERVICE_KEYS_PATH, async (_request, reply) => {
      void reply.header("cache-control", "public, max-age=300");
      return jwks;
    });
  }
  const missing = callersOf(options.internalRoutes ?? []).filter((caller) => !options.callerUrls?.[caller]);
  if (missing.length)
    throw new Error(`${options.name} has no address for its callers ${missing.join(", ")} (their keys)`);
  const callers = createServiceTokenVerifier({
    service: options.name,
    callers: options.callerUrls ?? {},
    log,
    refreshAfterMs: settings.keysRefreshMs,
  });
  guardInternalRoutes(edge.app, { routes: options.internalRoutes ?? [], verifier: callers });
  options.routes?.(edge.app);
  edge.setReadiness(async () => {
    const database = await db.ping();
    const callerKeys = callers.status();
    const keys = Object.keys(callerKeys).length ? { callerKeys } : {};
    return { ready: database, database, ...keys, ...options.readinessDetails?.() };
  });
  const { url, metricsUrl } = await edge.listen(settings.port, settings.host, { reusePort: settings.reusePort });

  return {
    name: options.name,
    url,
    /** Where GET /metrics is served: `url`, or its own listener's (METRICS_PORT). */
    metricsUrl: metricsUrl ?? url,
    graphqlUrl: `${url}/graphql`,
    sqlStatements: db.sqlStatements,
    metrics: options.metrics,
    /** Drains HTTP and stops Apollo; the database and the rest are the kit's to close (define-subgraph.ts). */
    async stop() {
      await edge.close(drainDeadline(settings.shutdownTimeoutMs));
      await apollo.stop();
    },
  };
}
