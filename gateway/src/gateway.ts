// The gateway: a static supergraph, user tokens verified here, identity passed on signed.
import { ApolloGateway, type GatewayConfig } from "@apollo/gateway";
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from "@apollo/server";
import { fastifyApolloHandler } from "@as-integrations/fastify";
import { GraphQLError, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { ApolloServerPluginLandingPageProductionDefault } from "@apollo/server/plugin/landingPage/default";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  boundedKeyValueCache,
  createEdge,
  createMetrics,
  createRateLimitStore,
  documentBytes,
  errorBody,
  graphqlMetricsPlugin,
  createUpstream,
  drainDeadline,
  enableWebSockets,
  maskUnexpectedErrors,
  requestShapePlugin,
  retryAfterPlugin,
  setSubscriptionsHint,
  stringBytes,
  type CacheBounds,
  type CorsOrigins,
  type Logger,
  type Upstream,
  type UpstreamSettings,
} from "@pooya/runtime";
import {
  createIdentityAssertionSigner,
  createKeyStore,
  generateSigningKey,
  publicKeySet,
  type SigningKey,
  type Viewer,
} from "@pooya/identity";
import { request as httpRequest } from "undici";
import { VERIFIED_TOKENS_CACHED, createAccessTokenVerifier, type AccessTokenPolicy } from "./access-tokens.ts";
import { subgraphsOf } from "./supergraph.ts";
import { createSubscriptionGateway } from "./subscriptions.ts";
import { demandControlPlugin, maxAliasLengthRule, type DemandLimits } from "./demand-control.ts";
import { clientLimitsPlugin, tooManyRequestsStatusPlugin } from "./client-limits.ts";
import { graphqlResponseStatusPlugin } from "./graphql-response-status.ts";
import { valueLimitsPlugin, type ValueLimits } from "./value-limits.ts";
import { sandboxLandingPagePlugin } from "./landing-page.ts";
import { ASSERTIONS_CACHED, reusingAssertionSigner } from "./identity-assertions.ts";
import { SHAPED_LIKE_APOLLO_GATEWAY, installFastResultShaping, useApolloResultShaping } from "./result-shaping.ts";
import { serveWebClient } from "./web.ts";
import { cachePolicyPlugin, withCacheHeaders } from "./cache-policy.ts";
import { SubgraphDataSource, SubgraphRequestCounter } from "./subgraph-data-source.ts";

export { SubgraphRequestCounter };
import {
  DOCUMENT_HASHES_CACHED,
  NOT_LISTED_MESSAGE,
  documentHasher,
  documentListed,
  trustedDocumentsHandler,
  type TrustedDocumentsMode,
} from "./trusted-documents.ts";

export interface GatewayContext extends BaseContext {
  viewer: Viewer;
  requestId: string;
  /** The client's address (the forwarded one, behind trusted proxies). */
  clientIp: string;
  identityAssertion: () => Promise<string>;
}

/** The gateway's in-process caches, each bounded by entries and estimated bytes (`<NAME>_CACHE_MAX_*`). */
export interface GatewayCacheBounds {
  /** Apollo Server's parsed documents (DOCUMENT_CACHE_MAX_*). */
  documents: CacheBounds;
  /** Apollo Gateway's query plans (QUERY_PLAN_CACHE_MAX_*). */
  queryPlans: CacheBounds;
  /** Automatic persisted queries clients registered (PERSISTED_QUERY_CACHE_MAX_*). */
  persistedQueries: CacheBounds;
  /** Verified access tokens (TOKEN_CACHE_MAX_*). */
  tokens: CacheBounds;
  /** Signed identity assertions (ASSERTION_CACHE_MAX_*). */
  assertions: CacheBounds;
  /** SHA-256 of query texts, for trusted documents (DOCUMENT_HASH_CACHE_MAX_*). */
  documentHashes: CacheBounds;
}

const MiB = 1024 * 1024;
export const DEFAULT_CACHE_BOUNDS: GatewayCacheBounds = {
  documents: { maxEntries: 1_000, maxBytes: 32 * MiB },
  queryPlans: { maxEntries: 1_000, maxBytes: 16 * MiB },
  persistedQueries: { maxEntries: 1_000, maxBytes: 4 * MiB },
  tokens: VERIFIED_TOKENS_CACHED,
  assertions: ASSERTIONS_CACHED,
  documentHashes: DOCUMENT_HASHES_CACHED,
};

/**
 * Heap of a query plan per byte of its JSON (Apollo's own estimate of a plan is its JSON): its
 * fetch nodes' operation texts, selection sets and paths as objects.
 */
const QUERY_PLAN_BYTES_PER_JSON_BYTE = 3;
type QueryPlan = NonNullable<
  Awaited<ReturnType<NonNullable<NonNullable<GatewayConfig["queryPlannerConfig"]>["cache"]>["get"]>>
>;

export interface GatewaySettings {
  port: number;
  host: string;
  /** Listen with SO_REUSEPORT (REUSE_PORT). */
  reusePort?: boolean;
  supergraphSdl: string;
  /** Subgraph URLs by name; names not given keep the URL composed into the supergraph. */
  subgraphUrls: Partial<Record<string, string>>;
  /** What a query may ask for (demand control) and how large one argument value may be. */
  limits: DemandLimits & ValueLimits & { maxSubgraphRequestBytes: number; maxResponseBytes: number };
  /** Timeouts, pool and breaker of calls to each subgraph (by name). */
  calls: (name: string, url: string) => Omit<UpstreamSettings, "log">;
  accessTokens: AccessTokenPolicy;
  /** Signs identity assertions; generated per process when not given (assertions live 60 s). */
  signingKey?: SigningKey;
  production: boolean;
  /** Apollo Sandbox on GET /graphql, GraphiQL on /graphiql and introspection (default: on outside production; off when trusted documents are enforced). */
  explorer: boolean;
  /** The built web client (web/dist), served at / (and its explorer at /graphiql). */
  webRoot?: string;
  /** Which operations run: any (off), any but unlisted ones logged (log), only listed ones (enforce). */
  trustedDocuments: { mode: TrustedDocumentsMode; manifest: Map<string, string> };
  /** Browser origins allowed to call the API (the API takes bearer tokens, not cookies). */
  corsOrigins: CorsOrigins;
  shutdownTimeoutMs: number;
  /** Age after which the access-token keys are refreshed in the background. */
  keysRefreshMs: number;
  /** Proxies whose X-Forwarded-For is believed. */
  trustedProxies: string[];
  redisUrl?: string;
  /** Requests per client address per minute, by root field (login, register, refreshToken). */
  clientLimits: Record<string, number>;
  /** Whose result shaping runs (RESULT_SHAPING; default: the gateway's own). */
  resultShaping?: "fast" | "apollo";
  /** Who may read GET /metrics. */
  metricsAllowFrom: string[];
  /** GET /metrics on a listener of its own at this port (METRICS_PORT); unset: on `port`. */
  metricsPort?: number;
  /** WebSocket limits: subscriptions per connection, connections per process. */
  subscriptions: { maxPerConnection: number; maxConnections: number };
  /** Bounds of the in-process caches (default: DEFAULT_CACHE_BOUNDS). */
  caches?: Partial<GatewayCacheBounds>;
}

/** Longest query the gateway parses, in tokens: refused as GRAPHQL_PARSE_FAILED before any work. */
export const MAX_QUERY_TOKENS = 2000;

/** A subgraph's unexpected error reaches the gateway already masked and logged by that subgraph. */
const fromSubgraph = (formatted: GraphQLFormattedError) => typeof formatted.extensions?.serviceName === "string";

export async function startGateway(settings: GatewaySettings, log: Logger) {
  const caches = { ...DEFAULT_CACHE_BOUNDS, ...settings.caches };
  const signingKey = settings.signingKey ?? (await generateSigningKey());
  const signIdentityAssertion = createIdentityAssertionSigner(signingKey);
  const identityAssertionFor = reusingAssertionSigner((viewer, clientIp) => signIdentityAssertion(viewer, clientIp), {
    bounds: caches.assertions,
  });
  const accessTokenKeys = createKeyStore({
    name: "access-token",
    url: settings.accessTokens.jwksUrl,
    log,
    refreshAfterMs: settings.keysRefreshMs,
  });
  await accessTokenKeys.load(); // if this fails, readiness says so and tokens are checked once the keys can be fetched
  const accessTokens = createAccessTokenVerifier(settings.accessTokens, accessTokenKeys, caches.tokens);
  const subgraphRequests = new SubgraphRequestCounter();
  const metrics = createMetrics("gateway");
  // Apollo's own caches, bounded here by entries as well as bytes: their default is 30 MiB
  // each, measured by JSON, which for a parsed document is about a quarter of its heap.
  const documentStore = boundedKeyValueCache<DocumentNode>("documents", caches.documents, documentBytes);
  const persistedQueries = boundedKeyValueCache<string>("persisted-queries", caches.persistedQueries, stringBytes);
  const queryPlans = boundedKeyValueCache<QueryPlan>(
    "query-plans",
    caches.queryPlans,
    (plan) => JSON.stringify(plan).length * QUERY_PLAN_BYTES_PER_JSON_BYTE,
  );
  const documentHash = documentHasher(caches.documentHashes);
  for (const cache of [
    documentStore.cache,
    persistedQueries.cache,
    queryPlans.cache,
    accessTokens.cache,
    identityAssertionFor.cache,
    documentHash.cache,
  ])
    metrics.trackCache(cache);
  const rateLimits = createRateLimitStore({ redisUrl: settings.redisUrl, prefix: "pooya:gateway", log });
  const clientLimits = Object.fromEntries(
    Object.entries(settings.clientLimits).map(([field, perMinute]) => [
      field,
      rateLimits.limit(`client-${field}`, { points: perMinute, windowSeconds: 60 }),
    ]),
  );
  setSubscriptionsHint(
    "Subscriptions are served over WebSocket at this same URL (protocol graphql-transport-ws, access token in connection_init), not over HTTP POST or GET.",
  );

  // @apollo/gateway otherwise probes cloud metadata endpoints (AWS, GCP, Azure, Alibaba) and
  // exports usage metrics to Apollo. This gateway talks to its subgraphs and nothing else.
  process.env.APOLLO_TELEMETRY_DISABLED = "true";
  const upstreams = new Map<string, Upstream>();
  for (const { name, url } of subgraphsOf(settings.supergraphSdl)) {
    const target = settings.subgraphUrls[name] ?? url;
    upstreams.set(name, createUpstream({ ...settings.calls(name, target), log, metrics }));
  }
  if (settings.resultShaping === "apollo") useApolloResultShaping();
  else if (!installFastResultShaping())
    log.warn(
      { expected: SHAPED_LIKE_APOLLO_GATEWAY },
      "@apollo/gateway is not the version gateway/src/result-shaping.ts was written against: Apollo's own (slower) result shaping is used",
    );
  const gateway = new ApolloGateway({
    supergraphSdl: settings.supergraphSdl,
    logger: log,
    queryPlannerConfig: { cache: queryPlans },
    buildService: ({ name, url }) =>
      new SubgraphDataSource(
        name,
        settings.subgraphUrls[name] ?? url ?? "",
        upstreams.get(name)!,
        subgraphRequests,
        log,
        settings.limits.maxSubgraphRequestBytes,
      ),
  });
  let apiSchema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate((loaded) => {
    apiSchema = loaded.apiSchema;
  });
  // Public endpoint: refuse queries built to exhaust the servers before they are planned. The
  // token limit is Apollo Server's own (parseOptions), which answers 400 like any syntax error.
  const armor = new ApolloArmor({
    maxDepth: { n: 10, ignoreIntrospection: true },
    maxDirectives: { n: 20 },
    maxTokens: { enabled: false },
    costLimit: { enabled: false }, // replaced by demand control, which sees list sizes
    maxAliases: { n: 30 },
    blockFieldSuggestion: { enabled: settings.production },
  }).protect();
  const validationRules = [...armor.validationRules, maxAliasLengthRule(settings.limits.maxAliasLength)];
  const trusted = settings.trustedDocuments;
  // Enforced trusted documents and an explorer that runs any operation do not go together.
  const explorer = settings.explorer && trusted.mode !== "enforce";
  if (settings.explorer && !explorer) log.info("explorer off: TRUSTED_DOCUMENTS=enforce runs listed operations only");
  const graphiqlAvailable = explorer && !!settings.webRoot && existsSync(join(settings.webRoot, "graphiql.html"));
  const formatError = maskUnexpectedErrors({ log, production: settings.production, loggedElsewhere: fromSubgraph });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    logger: log,
    documentStore,
    cache: persistedQueries,
    parseOptions: { maxTokens: MAX_QUERY_TOKENS },
    validationRules,
    formatError,
    includeStacktraceInErrorResponses: false,
    // Compact JSON (Apollo pretty-prints by default: 7 % of the gateway's time on big answers).
    stringifyResult: (value) => JSON.stringify(value),
    hideSchemaDetailsFromClientErrors: settings.production,
    stopOnTerminationSignals: false, // the process owns shutdown, in order
    introspection: explorer,
    plugins: [
      requestShapePlugin<GatewayContext>(),
      valueLimitsPlugin<GatewayContext>(settings.limits),
      demandControlPlugin<GatewayContext>(settings.limits),
      clientLimitsPlugin<GatewayContext>(clientLimits),
      retryAfterPlugin<GatewayContext>(),
      tooManyRequestsStatusPlugin<GatewayContext>(),
      graphqlResponseStatusPlugin<GatewayContext>(),
      cachePolicyPlugin<GatewayContext>(settings.supergraphSdl), // Cache-Control of GET answers
      graphqlMetricsPlugin<GatewayContext>(metrics),
      // graphql-armor is typed against Apollo's CommonJS declarations; the plugins are the same.
      ...(armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[]),
      !explorer
        ? ApolloServerPluginLandingPageProductionDefault({ footer: false })
        : sandboxLandingPagePlugin<GatewayContext>({ graphiqlAvailable }),
    ],
  });
  await apollo.start();

  const edge = await createEdge({
    log,
    cors: settings.corsOrigins,
    trustProxy: settings.trustedProxies,
    metrics,
    metricsAllowFrom: settings.metricsAllowFrom,
    metricsPort: settings.metricsPort,
  });
  const graphql = fastifyApolloHandler<GatewayContext>(apollo, {
    context: async (request) => {
      const viewer = await accessTokens.viewerFromAuthorization(request.headers.authorization);
      let assertion: Promise<string> | undefined;
      return {
        viewer,
        requestId: request.id,
        clientIp: request.ip,
        identityAssertion: () => (assertion ??= identityAssertionFor(viewer, request.ip)),
      };
    },
  });
  async function graphqlOverHttp(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const payload = await graphql.call(
      this,
      request as Parameters<typeof graphql>[0],
      reply as Parameters<typeof graphql>[1],
    );
    // The last line of demand control: an answer too large to serve is refused, not sent.
    if (typeof payload === "string" && Buffer.byteLength(payload) > settings.limits.maxResponseBytes) {
      void reply.code(400);
      return JSON.stringify(
        errorBody(
          `The answer is larger than ${settings.limits.maxResponseBytes} bytes; ask for fewer items (paginate).`,
          "RESPONSE_TOO_LARGE",
          { maxBytes: settings.limits.maxResponseBytes },
        ),
      );
    }
    return payload;
  }
  const subscriptions = createSubscriptionGateway({
    supergraphSdl: settings.supergraphSdl,
    schema: () => apiSchema!,
    validationRules,
    limits: settings.limits,
    accessTokens,
    signAssertion: (viewer, clientIp, sessionExpiresAt) => signIdentityAssertion(viewer, clientIp, sessionExpiresAt),
    subgraphUrl: (name) => settings.subgraphUrls[name] ?? upstreams.get(name)!.baseUrl,
    maxSubscriptionsPerConnection: settings.subscriptions.maxPerConnection,
    maxConnections: settings.subscriptions.maxConnections,
    connectTimeoutMs: Math.max(...[...upstreams.values()].map((u) => u.timeoutMs)),
    formatError,
    log,
    metrics,
    refuseDocument:
      trusted.mode === "enforce"
        ? (query) =>
            documentListed(trusted.manifest, query, documentHash)
              ? undefined
              : new GraphQLError(NOT_LISTED_MESSAGE, { extensions: { code: "PERSISTED_QUERY_NOT_LISTED" } })
        : undefined,
  });
  const trustedOutcomes = metrics.counter(
    "gateway_trusted_documents_total",
    "GraphQL requests over HTTP by trusted-documents outcome: listed, unlisted (refused with TRUSTED_DOCUMENTS=enforce), none (no operation)",
    ["outcome"] as const,
  );
  const preHandler = trustedDocumentsHandler(
    trusted.mode,
    trusted.manifest,
    (outcome) => trustedOutcomes.inc({ outcome }),
    documentHash,
  );
  await enableWebSockets(edge);
  edge.app.post("/graphql", { preHandler }, graphqlOverHttp);
  // GET: a query over HTTP, or the WebSocket upgrade for subscriptions (same URL). No HEAD:
  // Apollo answers only GET and POST.
  edge.app.route({
    method: "GET",
    url: "/graphql",
    exposeHeadRoute: false,
    preHandler,
    handler: withCacheHeaders(graphqlOverHttp),
    wsHandler: subscriptions.handler,
  });
  if (settings.webRoot) await serveWebClient(edge.app, { root: settings.webRoot, explorer: graphiqlAvailable, log });
  edge.app.get("/.well-known/jwks.json", async () => publicKeySet([signingKey]));
  // Ready unless it cannot serve at all: apollo.start() above resolved only once the supergraph
  // loaded, so that leaves token keys never loaded. The subgraphs are reported, not required:
  // a subgraph that is down costs its own fields, not the whole gateway.
  edge.setReadiness(async () => {
    if (!accessTokenKeys.status().loaded) await accessTokenKeys.load();
    const keys = accessTokenKeys.status();
    const subgraphs = Object.fromEntries(
      await Promise.all(
        [...upstreams].map(async ([name, upstream]) => {
          const readyz = new URL("/readyz", settings.subgraphUrls[name] ?? upstream.baseUrl).href;
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
  });
  const { url, metricsUrl } = await edge.listen(settings.port, settings.host, { reusePort: settings.reusePort });

  return {
    name: "gateway",
    url,
    /** Where GET /metrics is served: `url`, or its own listener's (METRICS_PORT). */
    metricsUrl: metricsUrl ?? url,
    graphqlUrl: `${url}/graphql`,
    jwksUrl: `${url}/.well-known/jwks.json`,
    subgraphs: subgraphsOf(settings.supergraphSdl).map((s) => s.name),
    subgraphRequests,
    metrics,
    /** SHUTDOWN_TIMEOUT_MS: stop() drains clients for up to this less a second. */
    shutdownTimeoutMs: settings.shutdownTimeoutMs,
    /** Breaker state of each subgraph. */
    breakers: () => Object.fromEntries([...upstreams].map(([name, upstream]) => [name, upstream.status()])),
    async stop() {
      await edge.close(drainDeadline(settings.shutdownTimeoutMs));
      await apollo.stop();
      await Promise.all([...upstreams.values()].map((upstream) => upstream.close()));
      await rateLimits.close();
    },
  };
}

export type RunningGateway = Awaited<ReturnType<typeof startGateway>>;
