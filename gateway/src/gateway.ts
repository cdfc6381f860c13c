// The gateway: a static supergraph, user tokens verified here, identity passed on signed.
// Started in steps: keys and token verification → metrics and caches → calls to the subgraphs and
// Apollo Gateway on the supergraph → Apollo Server with its plugins → the HTTP edge and its
// routes (GraphQL over HTTP, subscriptions over WebSocket, the web client, the key set,
// readiness) → listening. It stops in the reverse order (a stack, as subgraphs do).
import { createEdge, createMetrics, drainDeadline, ShutdownStack, type Logger } from "@pooya/runtime";
import { publicKeySet } from "@pooya/identity";
import { MAX_QUERY_TOKENS, createApolloServer } from "./apollo-server.ts";
import { authorizationRules } from "./authorization-rules.ts";
import { createCompiledOperations } from "./compiled-operations.ts";
import { connectSubgraphs, createSupergraphGateway } from "./apollo-gateway.ts";
import { createApolloCaches } from "./caches.ts";
import { createClientLimits } from "./client-limits.ts";
import { createDeactivatedAccounts } from "./deactivated-accounts.ts";
import { createEntityCache } from "./entity-cache/entity-cache.ts";
import { requestContext } from "./context.ts";
import { loadKeys } from "./keys.ts";
import { serveServiceKeys, startLiveEvents } from "./live-events.ts";
import { explorerOf } from "./landing-page.ts";
import { gatewayReadiness, serveGraphql } from "./routes.ts";
import { DEFAULT_CACHE_BOUNDS, DEFAULT_ENTITY_CACHE, type GatewaySettings } from "./settings.ts";
import { SubgraphRequestCounter } from "./subgraph-data-source.ts";
import { startSubscriptions } from "./subscriptions.ts";
import { subgraphsOf } from "./supergraph.ts";
import { documentHasher, trustedDocumentsCheck } from "./trusted-documents.ts";
import { serveWebClient } from "./web.ts";

export async function startGateway(settings: GatewaySettings, log: Logger) {
  const caches = { ...DEFAULT_CACHE_BOUNDS, ...settings.caches };
  const stack = new ShutdownStack();
  try {
    const keys = await loadKeys(settings, caches, log);
    const subgraphRequests = new SubgraphRequestCounter();
    const metrics = createMetrics("gateway");
    const apolloCaches = createApolloCaches(caches);
    const documentHash = documentHasher(caches.documentHashes);
    for (const cache of [
      apolloCaches.documentStore.cache,
      apolloCaches.persistedQueries.cache,
      apolloCaches.queryPlans.cache,
      keys.accessTokens.cache,
      keys.identityAssertionFor.cache,
      documentHash.cache,
    ])
      metrics.trackCache(cache);
    const clientLimits = createClientLimits(settings.clientLimits, { redisUrl: settings.redisUrl, log });
    stack.push("client limits", () => clientLimits.close());

    const entityCache = createEntityCache(settings.entityCache ?? DEFAULT_ENTITY_CACHE, {
      supergraphSdl: settings.supergraphSdl,
      redisUrl: settings.redisUrl,
      log,
      metrics,
    });
    stack.push("entity cache", () => entityCache.close());
    await entityCache.ready(); // Redis: connected, or a second passed (it keeps trying; misses meanwhile)
    const deactivatedAccounts = createDeactivatedAccounts();

    const upstreams = connectSubgraphs(settings, { log, metrics });
    stack.push("calls to subgraphs", () => Promise.all([...upstreams.values()].map((upstream) => upstream.close())));
    const supergraph = createSupergraphGateway(settings, {
      upstreams,
      queryPlans: apolloCaches.queryPlans,
      subgraphRequests,
      entityCache,
      log,
    });

    const explorer = explorerOf(settings, log);
    const { apollo, validationRules, formatError, cost, countOperation } = createApolloServer(settings, {
      gateway: supergraph.gateway,
      caches: apolloCaches,
      clientLimits: clientLimits.limits,
      explorer,
      metrics,
      log,
    });
    await apollo.start(); // resolves once the supergraph is loaded
    stack.push("Apollo Server", () => apollo.stop());
    const context = requestContext(keys, deactivatedAccounts);
    const compiledOperations =
      settings.compiledOperations === false
        ? undefined
        : createCompiledOperations({
            executor: () => supergraph.gateway.executor,
            schema: supergraph.apiSchema,
            validationRules,
            introspection: explorer.enabled,
            maxQueryTokens: MAX_QUERY_TOKENS,
            context,
            formatError,
            authorizationRules:
              settings.authorizationAtGateway === false ? undefined : authorizationRules(settings.supergraphSdl),
            limitedRootFields: new Set(Object.keys(settings.clientLimits)),
            valueLimits: settings.limits,
            cost,
            countOperation,
            documentHash,
            metrics,
            log,
            bounds: caches.compiledOperations,
          });
    if (compiledOperations) {
      metrics.trackCache(compiledOperations.cache);
      const compiled = compiledOperations.compileAll(settings.trustedDocuments.manifest);
      if (compiled) log.info({ compiled }, "trusted documents compiled");
    }

    const edge = await createEdge({
      log,
      cors: settings.corsOrigins,
      trustProxy: settings.trustedProxies,
      metrics,
      metricsAllowFrom: settings.metricsAllowFrom,
      metricsPort: settings.metricsPort,
    });
    stack.push("HTTP", () => edge.close(drainDeadline(settings.shutdownTimeoutMs)));
    const subscriptions = startSubscriptions(settings, {
      schema: supergraph.apiSchema,
      validationRules,
      formatError,
      keys,
      upstreams,
      documentHash,
      log,
      metrics,
    });
    await serveGraphql(edge, {
      apollo,
      context,
      compiledOperations,
      preHandler: trustedDocumentsCheck(settings.trustedDocuments, metrics, documentHash),
      subscriptions,
      maxResponseBytes: settings.limits.maxResponseBytes,
    });
    if (settings.webRoot)
      await serveWebClient(edge.app, { root: settings.webRoot, explorer: explorer.graphiqlAvailable, log });
    edge.app.get("/.well-known/jwks.json", async () => publicKeySet([keys.signingKey]));
    serveServiceKeys(edge.app, settings);
    edge.setReadiness(gatewayReadiness(keys.accessTokenKeys, upstreams, settings.subgraphUrls));
    const { url, metricsUrl } = await edge.listen(settings.port, settings.host, { reusePort: settings.reusePort });

    // Domain events, heard once listening (producers fetch the key its feed reads are signed with
    // from it): they evict what the entity cache holds of the entities they name, and end the
    // sessions of deactivated accounts. A gap (at start, after an outage) empties the cache.
    const liveEvents = settings.events
      ? startLiveEvents(settings, {
          log,
          metrics,
          async onEvents(events) {
            deactivatedAccounts.apply(events);
            if (entityCache.enabled) await entityCache.applyEvents(events);
          },
          onGap() {
            if (entityCache.enabled) void entityCache.clear();
          },
        })
      : undefined;
    if (liveEvents) stack.push("live events", () => liveEvents.stop());

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
      /** The entity cache: its counters (`stats()`), and eviction by hand (`evictEntities`). */
      entityCache,
      /** Requests answered on the compiled operations' path and by Apollo Server (undefined: COMPILED_OPERATIONS=off). */
      compiledOperations: () => compiledOperations?.counts(),
      /** Whether domain events are heard live (per transport and source). */
      liveEvents: () => liveEvents?.status(),
      /** SHUTDOWN_TIMEOUT_MS: stop() drains clients for up to this less a second. */
      shutdownTimeoutMs: settings.shutdownTimeoutMs,
      /** Breaker state of each subgraph. */
      breakers: () => Object.fromEntries([...upstreams].map(([name, upstream]) => [name, upstream.status()])),
      /** Drains HTTP and WebSocket clients, then stops Apollo, the calls to subgraphs and the client limits' store. */
      stop: () => stack.unwind(),
    };
  } catch (error) {
    await stack.unwind().catch(() => undefined);
    throw error;
  }
}

export type RunningGateway = Awaited<ReturnType<typeof startGateway>>;
