// The gateway as the rest of the system sees it: its descriptor and the offline composition.
import { callSettings, defineService, serviceUrlVariable } from "@pooya/runtime";
import { loadServiceIdentity, signingKeyFromJwk } from "@pooya/identity";
import { eventSettings } from "@pooya/events/live";
import { gatewayEnv } from "./env.ts";
import { readSupergraph } from "./supergraph.ts";
import { existsSync } from "node:fs";
import { loadTrustedDocuments } from "./trusted-documents.ts";

export const gatewayService = defineService({
  name: "gateway",
  defaultPort: 4000,
  /** Every subgraph in the supergraph, each at `<NAME>_URL`. */
  calls: [],
  env: gatewayEnv,
  async start(vars, { log }) {
    const { startGateway } = await import("./gateway.ts");
    const supergraph = readSupergraph(vars.SUPERGRAPH_PATH);
    const subgraphUrls: Record<string, string> = {};
    for (const { name } of supergraph.subgraphs) {
      const base = (vars as Record<string, unknown>)[serviceUrlVariable(name)] as string | undefined;
      if (base) subgraphUrls[name] = `${base}/graphql`;
    }
    return startGateway(
      {
        port: vars.PORT,
        host: vars.HOST,
        reusePort: vars.REUSE_PORT,
        supergraphSdl: supergraph.sdl,
        subgraphUrls,
        calls: (name, url) => ({ ...callSettings(vars, name, url), maxResponseBytes: vars.MAX_RESPONSE_BYTES }),
        limits: {
          maxCost: vars.MAX_QUERY_COST,
          maxAliasLength: vars.MAX_ALIAS_LENGTH,
          maxTextLength: vars.MAX_TEXT_VALUE_LENGTH,
          maxListItems: vars.MAX_LIST_VALUE_ITEMS,
          maxSubgraphRequestBytes: vars.MAX_SUBGRAPH_REQUEST_BYTES,
          maxResponseBytes: vars.MAX_RESPONSE_BYTES,
        },
        subscriptions: {
          maxPerConnection: vars.MAX_SUBSCRIPTIONS_PER_CONNECTION,
          maxConnections: vars.MAX_WEBSOCKET_CONNECTIONS,
        },
        accessTokens: { jwksUrl: vars.ACCESS_TOKEN_JWKS_URL, issuer: vars.TOKEN_ISSUER, audience: vars.TOKEN_AUDIENCE },
        signingKey: vars.GATEWAY_SIGNING_KEY ? await signingKeyFromJwk(vars.GATEWAY_SIGNING_KEY) : undefined,
        production: vars.NODE_ENV === "production",
        explorer: vars.EXPLORER ?? vars.NODE_ENV !== "production",
        webRoot: vars.WEB_ROOT,
        trustedDocuments: {
          mode: vars.TRUSTED_DOCUMENTS,
          manifest:
            vars.TRUSTED_DOCUMENTS === "off" && !existsSync(vars.TRUSTED_DOCUMENTS_PATH)
              ? new Map()
              : loadTrustedDocuments(vars.TRUSTED_DOCUMENTS_PATH),
        },
        corsOrigins: vars.CORS_ORIGINS.includes("*") ? "*" : vars.CORS_ORIGINS,
        shutdownTimeoutMs: vars.SHUTDOWN_TIMEOUT_MS,
        trustedProxies: vars.TRUSTED_PROXIES,
        metricsAllowFrom: vars.METRICS_ALLOW_FROM,
        metricsPort: vars.METRICS_PORT,
        redisUrl: vars.REDIS_URL,
        clientLimits: {
          login: vars.LOGIN_LIMIT_PER_CLIENT,
          register: vars.REGISTER_LIMIT_PER_CLIENT,
          refreshToken: vars.REFRESH_LIMIT_PER_CLIENT,
        },
        keysRefreshMs: vars.KEYS_REFRESH_MS,
        events: { ...eventSettings(vars), identity: await loadServiceIdentity("gateway", vars) },
        resultShaping: vars.RESULT_SHAPING,
        compiledOperations: vars.COMPILED_OPERATIONS === "on",
        authorizationAtGateway: vars.AUTHORIZATION_DIRECTIVES === "enforce",
        entityCache: {
          enabled: vars.CACHE === "on",
          maxBytes: vars.CACHE_MAX_BYTES,
          staleSeconds: vars.CACHE_STALE_SECONDS,
          typeOverrides: Object.fromEntries(
            (vars.CACHE_TYPES ?? []).map((item) => {
              const [type, age] = item.split("=") as [string, string];
              return [type, age === "off" ? 0 : Number(age)];
            }),
          ),
        },
        caches: {
          documents: { maxEntries: vars.DOCUMENT_CACHE_MAX_ENTRIES, maxBytes: vars.DOCUMENT_CACHE_MAX_BYTES },
          queryPlans: { maxEntries: vars.QUERY_PLAN_CACHE_MAX_ENTRIES, maxBytes: vars.QUERY_PLAN_CACHE_MAX_BYTES },
          persistedQueries: {
            maxEntries: vars.PERSISTED_QUERY_CACHE_MAX_ENTRIES,
            maxBytes: vars.PERSISTED_QUERY_CACHE_MAX_BYTES,
          },
          tokens: { maxEntries: vars.TOKEN_CACHE_MAX_ENTRIES, maxBytes: vars.TOKEN_CACHE_MAX_BYTES },
          assertions: { maxEntries: vars.ASSERTION_CACHE_MAX_ENTRIES, maxBytes: vars.ASSERTION_CACHE_MAX_BYTES },
          compiledOperations: {
            maxEntries: vars.COMPILED_OPERATION_CACHE_MAX_ENTRIES,
            maxBytes: vars.COMPILED_OPERATION_CACHE_MAX_BYTES,
          },
          documentHashes: {
            maxEntries: vars.DOCUMENT_HASH_CACHE_MAX_ENTRIES,
            maxBytes: vars.DOCUMENT_HASH_CACHE_MAX_BYTES,
          },
        },
      },
      log,
    );
  },
});

export type { RunningGateway } from "./gateway.ts";
export { composeSupergraph, type SubgraphSource } from "./composition.ts";
export { SUPERGRAPH_PATH, apiSchemaOfSupergraph, forApolloGateway, readSupergraph } from "./supergraph.ts";
export {
  REFUSAL_REASON,
  authorizationRules,
  refusal,
  type Requirement as AccessRequirement,
} from "./authorization-rules.ts";
export { serveWebClient, WEB_ROOT } from "./web.ts";
export { EVENT_SOURCES } from "./live-events.ts";
export {
  requirementText,
  schemaRequirements,
  type Alternatives,
  type Requirement,
  type SchemaRequirements,
} from "./schema-requirements.ts";
