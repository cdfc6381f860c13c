// What the gateway is started with (src/index.ts reads it from the environment), and the bounds
// of its in-process caches.
import type { CacheBounds, CorsOrigins, UpstreamSettings } from "@pooya/runtime";
import type { ServiceIdentity, SigningKey } from "@pooya/identity";
import type { EventSettings } from "@pooya/events/live";
import { VERIFIED_TOKENS_CACHED, type AccessTokenPolicy } from "./access-tokens.ts";
import type { DemandLimits } from "./demand-control.ts";
import type { EntityCacheSettings } from "./entity-cache/entity-cache.ts";
import { ASSERTIONS_CACHED } from "./identity-assertions.ts";
import { COMPILED_OPERATIONS_CACHED } from "./compiled-operations.ts";
import { DOCUMENT_HASHES_CACHED, type TrustedDocumentsMode } from "./trusted-documents.ts";
import type { ValueLimits } from "./value-limits.ts";

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
  /** Compiled queries (COMPILED_OPERATION_CACHE_MAX_*). */
  compiledOperations: CacheBounds;
}

const MiB = 1024 * 1024;
export const DEFAULT_ENTITY_CACHE: EntityCacheSettings = {
  enabled: true,
  maxBytes: 64 * MiB,
  staleSeconds: 300,
  typeOverrides: {},
};

export const DEFAULT_CACHE_BOUNDS: GatewayCacheBounds = {
  documents: { maxEntries: 1_000, maxBytes: 32 * MiB },
  queryPlans: { maxEntries: 1_000, maxBytes: 16 * MiB },
  persistedQueries: { maxEntries: 1_000, maxBytes: 4 * MiB },
  tokens: VERIFIED_TOKENS_CACHED,
  assertions: ASSERTIONS_CACHED,
  documentHashes: DOCUMENT_HASHES_CACHED,
  compiledOperations: COMPILED_OPERATIONS_CACHED,
};

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
  /** The schema's auth directives enforced before planning (AUTHORIZATION_DIRECTIVES; default: yes). */
  authorizationAtGateway?: boolean;
  /** Known queries answered on their compiled path (COMPILED_OPERATIONS; default: yes). */
  compiledOperations?: boolean;
  /** Whose result shaping runs (RESULT_SHAPING; default: the gateway's own). */
  resultShaping?: "fast" | "apollo";
  /** Who may read GET /metrics. */
  metricsAllowFrom: string[];
  /** GET /metrics on a listener of its own at this port (METRICS_PORT); unset: on `port`. */
  metricsPort?: number;
  /** WebSocket limits: subscriptions per connection, connections per process. */
  subscriptions: { maxPerConnection: number; maxConnections: number };
  /** The entity cache (CACHE, CACHE_*; default: on, in this process unless `redisUrl`). */
  entityCache?: EntityCacheSettings;
  /** Bounds of the in-process caches (default: DEFAULT_CACHE_BOUNDS). */
  caches?: Partial<GatewayCacheBounds>;
  /**
   * Hearing domain events live (live-events.ts): NATS_URL, else the producers' feeds, read as
   * `identity` (GATEWAY_SERVICE_SIGNING_KEYS, or its key file); `sources`: default EVENT_SOURCES.
   */
  events?: EventSettings & { identity?: ServiceIdentity; sources?: readonly string[] };
}
