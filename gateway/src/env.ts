// The gateway's variables. Which subgraphs exist is read from the supergraph, so each one's
// `<NAME>_URL` is checked here together with the rest.
import { z } from "zod";
import { callVariables, env, processVariables, serviceUrlVariable } from "@pooya/runtime";
import { ACCESS_TOKEN_DEFAULTS, serviceIdentityVariables } from "@pooya/identity";
import { eventVariables } from "@pooya/events/live";
import { SUPERGRAPH_PATH, readSupergraph } from "./supergraph.ts";
import { TRUSTED_DOCUMENTS_PATH } from "./trusted-documents.ts";
import { WEB_ROOT } from "./web.ts";

const privateJwk = z
  .object({
    kid: z.string().min(1),
    d: z.string().min(1),
    kty: z.literal("OKP"),
    crv: z.literal("Ed25519"),
    x: z.string(),
  })
  .loose();

const supergraphPath = () =>
  env
    .text({ max: 4096 })
    .default(SUPERGRAPH_PATH)
    .meta({ defaultText: "`gateway/supergraph.graphql`" })
    .describe("the static supergraph to serve (composed offline, `npm run compose`)")
    .refine((path) => {
      try {
        readSupergraph(path);
        return true;
      } catch {
        return false;
      }
    }, "must be a readable supergraph file");

const cacheEntries = (what: string, entries: number) =>
  env
    .integer({ min: 1, max: 10_000_000 })
    .default(entries)
    .describe(`${what}: entries kept at most (the least recently used go first)`);
const cacheBytes = (what: string, bytes: number) =>
  env.integer({ min: 1_024, max: 10_000_000_000 }).default(bytes).describe(`${what}: estimated bytes kept at most`);

/** `<NAME>_CACHE_MAX_ENTRIES` and `<NAME>_CACHE_MAX_BYTES` of one bounded cache (platform/src/bounded-cache.ts). */
function cacheVariables<N extends string>(name: N, what: string, entries: number, bytes: number) {
  return {
    [`${name}_CACHE_MAX_ENTRIES`]: cacheEntries(what, entries),
    [`${name}_CACHE_MAX_BYTES`]: cacheBytes(what, bytes),
  } as Record<`${N}_CACHE_MAX_ENTRIES`, ReturnType<typeof cacheEntries>> &
    Record<`${N}_CACHE_MAX_BYTES`, ReturnType<typeof cacheBytes>>;
}

const MiB = 1024 * 1024;

/** The gateway's in-process caches, each bounded by entries and by estimated bytes. */
export const gatewayCacheEnv = {
  ...cacheVariables(
    "DOCUMENT",
    "parsed operations (Apollo Server's document store, by query text; about 100 bytes of heap per character)",
    1_000,
    32 * MiB,
  ),
  ...cacheVariables("QUERY_PLAN", "query plans (Apollo Gateway's, by query text and operation name)", 1_000, 16 * MiB),
  ...cacheVariables(
    "PERSISTED_QUERY",
    "automatic persisted queries (APQ: hash → query text) clients registered",
    1_000,
    4 * MiB,
  ),
  ...cacheVariables("TOKEN", "verified access tokens, until they expire", 10_000, 16 * MiB),
  ...cacheVariables(
    "ASSERTION",
    "signed identity assertions, reused per viewer and client address for 30 s",
    10_000,
    16 * MiB,
  ),
  ...cacheVariables("DOCUMENT_HASH", "SHA-256 of query texts (trusted documents)", 1_000, 4 * MiB),
  ...cacheVariables(
    "COMPILED_OPERATION",
    "compiled queries (`COMPILED_OPERATIONS`: the trusted documents' at start, others on first use, by query hash and operation name)",
    1_000,
    32 * MiB,
  ),
};

export const gatewayStaticEnv = {
  ...processVariables(4000),
  EXPLORER: env
    .boolean()
    .optional()
    .describe(
      "`on`: Apollo Sandbox on `GET /graphql`, GraphiQL on `/graphiql` and introspection, `off`: none of them; default: on, but off with `NODE_ENV=production` (and always off with `TRUSTED_DOCUMENTS=enforce`)",
    ),
  TRUSTED_DOCUMENTS: z
    .enum(["off", "log", "enforce"])
    .default("off")
    .describe(
      "`off`: any operation runs; `log`: unlisted operations are logged; `enforce`: only the trusted documents (the web client's and `operations/`) run, others get 400 PERSISTED_QUERY_NOT_LISTED, and the explorer is off",
    ),
  TRUSTED_DOCUMENTS_PATH: env
    .text({ max: 4096 })
    .default(TRUSTED_DOCUMENTS_PATH)
    .meta({ defaultText: "`gateway/trusted-documents.json` (written by `npm run generate`)" })
    .describe(
      "the trusted-documents manifest (SHA-256 → operation), read when `TRUSTED_DOCUMENTS` is `log` or `enforce`",
    ),
  WEB_ROOT: env
    .text({ max: 4096 })
    .default(WEB_ROOT)
    .meta({ defaultText: "`web/dist` (written by `npm run build`; `npm start` builds it)" })
    .describe(
      "the built web client served at `/` (and GraphiQL at `/graphiql` when the explorer is on); missing: `/` answers 404",
    ),
  CORS_ORIGINS: env.list().default(["*"]).describe("comma-separated browser origins allowed to call the API, or `*`"),
  SUPERGRAPH_PATH: supergraphPath(),
  ACCESS_TOKEN_JWKS_URL: env
    .httpUrl()
    .describe("where the access-token keys are published (`/.well-known/jwks.json` of the service that issues them)"),
  TOKEN_ISSUER: env
    .text()
    .default(ACCESS_TOKEN_DEFAULTS.issuer)
    .describe("`iss` of access tokens (users signs it, the gateway requires it)"),
  TOKEN_AUDIENCE: env
    .text()
    .default(ACCESS_TOKEN_DEFAULTS.audience)
    .describe("`aud` of access tokens (users signs it, the gateway requires it)"),
  MAX_QUERY_COST: env
    .integer({ min: 1, max: 10_000_000 })
    .default(20_000)
    .describe(
      "highest cost a query may have, estimated before planning from the subgraphs' `@cost` and `@listSize` (an object 1, a list its `first` or assumed size); above: 400 COST_ESTIMATED_TOO_EXPENSIVE",
    ),
  MAX_ALIAS_LENGTH: env.integer({ min: 1, max: 10_000 }).default(64).describe("longest alias a query may use"),
  MAX_TEXT_VALUE_LENGTH: env
    .integer({ min: 100, max: 1_000_000 })
    .default(10_000)
    .describe(
      "most characters in one text value of an argument (a String or ID, literal or variable, at any depth of an input); above: 400 BAD_USER_INPUT naming the argument, before planning (the longest text the API stores is 5 000 characters)",
    ),
  MAX_LIST_VALUE_ITEMS: env
    .integer({ min: 10, max: 1_000_000 })
    .default(1_000)
    .describe(
      "most items in one list value of an argument (literal or variable); above: 400 BAD_USER_INPUT naming the argument, before planning (the longest list the API takes is a roll call of 500)",
    ),
  MAX_SUBGRAPH_REQUEST_BYTES: env
    .integer({ min: 1_024, max: 100_000_000 })
    .default(262_144)
    .describe(
      "largest request the gateway sends a subgraph once fragments are expanded (values included); above: REQUEST_TOO_LARGE",
    ),
  MAX_RESPONSE_BYTES: env
    .integer({ min: 1_024, max: 1_000_000_000 })
    .default(2_097_152)
    .describe("largest answer served (and read from a subgraph); above: 400 RESPONSE_TOO_LARGE"),
  TRUSTED_PROXIES: env
    .list()
    .default([])
    .describe(
      "addresses or CIDRs of the proxies in front of the gateway whose X-Forwarded-For is believed (the client's address decides rate limits); unset: none, the peer's address counts",
    ),
  LOGIN_LIMIT_PER_CLIENT: env
    .integer({ min: 1, max: 1_000_000 })
    .default(60)
    .describe("login requests per client address (an IPv6 one: per /64) per minute"),
  REGISTER_LIMIT_PER_CLIENT: env
    .integer({ min: 1, max: 1_000_000 })
    .default(20)
    .describe("register requests per client address (an IPv6 one: per /64) per minute"),
  REFRESH_LIMIT_PER_CLIENT: env
    .integer({ min: 1, max: 1_000_000 })
    .default(300)
    .describe("refreshToken requests per client address (an IPv6 one: per /64) per minute"),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: env
    .integer({ min: 1, max: 10_000 })
    .default(20)
    .describe("subscriptions one WebSocket may run at once; more: TOO_MANY_REQUESTS"),
  MAX_WEBSOCKET_CONNECTIONS: env
    .integer({ min: 1, max: 1_000_000 })
    .default(10_000)
    .describe(
      "WebSocket connections one gateway process holds at most; more are closed with 1013 (try again later, e.g. on another replica)",
    ),
  REDIS_URL: env
    .text()
    .optional()
    .describe(
      "where rate-limit counts and the entity cache are shared between replicas (`redis://host:6379`); unset: both kept in this process",
    ),
  CACHE: z
    .enum(["on", "off"])
    .default("on")
    .describe(
      "`on`: subgraph answers the schema's `@cacheControl` hints allow are cached (entities per type and key, root fields), in Redis when `REDIS_URL` is set, else in this process, and evicted by the domain events that name them; `off`: nothing is cached",
    ),
  CACHE_MAX_BYTES: env
    .integer({ min: 1_024, max: 10_000_000_000 })
    .default(64 * MiB)
    .describe(
      "the in-process entity cache (no `REDIS_URL`): estimated bytes kept at most (the least recently used go first)",
    ),
  CACHE_STALE_SECONDS: env
    .integer({ min: 0, max: 86_400 })
    .default(300)
    .describe(
      "how long past its max-age a cached entity may be served, with a `STALE_DATA` warning, while its subgraph is down or its breaker open (0: never)",
    ),
  CACHE_TYPES: env
    .list()
    .refine(
      (items) => items.every((item) => /^[A-Za-z_][A-Za-z0-9_]*=(off|\d{1,6})$/.test(item)),
      "must be Type=seconds or Type=off, comma-separated",
    )
    .optional()
    .describe(
      "per entity type, a max-age that replaces the schema's hints, e.g. `Meal=30,Course=off`; unset: the hints decide",
    ),
  AUTHORIZATION_DIRECTIVES: z
    .enum(["enforce", "subgraphs"])
    .default("enforce")
    .describe(
      "`enforce`: the gateway removes the fields the caller may not see (`@authenticated`, `@requiresScopes`, `@policy` in the supergraph) before planning; `subgraphs`: it plans them and the subgraphs refuse them (they always enforce the same directives), as Apollo Router's `authorization.directives.enabled: false`, for measuring what enforcement costs",
    ),
  COMPILED_OPERATIONS: z
    .enum(["on", "off"])
    .default("on")
    .describe(
      "`on`: a query the gateway has compiled (parsed, validated and checked once: the trusted documents at start, any other on first use) is answered on a path of its own that runs only what depends on the request, and anything that path would refuse goes through Apollo Server's full pipeline, which answers it; `off`: every request goes through Apollo Server's pipeline",
    ),
  RESULT_SHAPING: z
    .enum(["fast", "apollo"])
    .default("fast")
    .describe(
      "`fast`: the gateway's own result shaping (each selection set read once per answer; held to Apollo's answers by a test); `apollo`: Apollo Gateway's own, slower on long lists",
    ),
  GATEWAY_SIGNING_KEY: env
    .json(privateJwk, "a private Ed25519 JWK with a kid")
    .optional()
    .describe("signs identity assertions; unset: generated per start (set it when gateway replicas must share one)"),
  // Domain events heard live (the broker, or the producers' feeds read with its service key).
  ...eventVariables(),
  ...serviceIdentityVariables("gateway"),
  ...gatewayCacheEnv,
};

/** The subgraphs in the supergraph at SUPERGRAPH_PATH (none if it cannot be read: its own check says so). */
function subgraphNames(environment: NodeJS.ProcessEnv): string[] {
  try {
    return readSupergraph(environment.SUPERGRAPH_PATH || SUPERGRAPH_PATH).subgraphs.map((s) => s.name);
  } catch {
    return [];
  }
}

/** `<NAME>_URL` for every subgraph of the supergraph. */
function subgraphUrlVariables(names: string[]) {
  return Object.fromEntries(
    names.map((name) => [
      serviceUrlVariable(name),
      env
        .httpUrl()
        .optional()
        .describe(
          `base URL of the ${name} subgraph (GraphQL at \`/graphql\`); default: the URL composed into the supergraph`,
        ),
    ]),
  ) as Record<string, z.ZodOptional<ReturnType<typeof env.httpUrl>>>;
}

export function gatewayEnv(environment: NodeJS.ProcessEnv) {
  const names = subgraphNames(environment);
  return { ...gatewayStaticEnv, ...subgraphUrlVariables(names), ...callVariables(names) };
}

export type GatewayEnv = ReturnType<typeof gatewayEnv>;
