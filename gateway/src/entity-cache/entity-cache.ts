// The gateway's entity cache: subgraph fetches answered from cached entities and root answers
// where the schema's @cacheControl hints allow, kept until an event says they changed.
//
// - An entity fetch asks the subgraph only for the representations not in the cache (fresh), and
//   puts the answer back together in the order Apollo asked.
// - Entries are evicted by the domain events that name their entities (from NATS or the event
//   feeds, every replica), by the `extensions.invalidation` a subgraph's answer to a mutation
//   carries (before that answer reaches the client: the same client reads its own write), and
//   all at once when events may have been missed (the event stream had a gap, Redis was away).
// - A subgraph that is down, timing out or behind an open breaker gets its entries served up to
//   `staleSeconds` past their max-age, with a STALE_DATA warning in the answer's extensions.
// - The store is Redis when configured, else in this process; a store that fails is a miss.
import type { GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from "@apollo/server-gateway-interface";
import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { LRUCache } from "lru-cache";
import { UpstreamError, type Logger, type Metrics } from "@pooya/runtime";
import type { Viewer } from "@pooya/identity";
import { authorizationRules } from "../authorization-rules.ts";
import { cacheHintsOf } from "../cache-policy.ts";
import type { GatewayContext } from "../context.ts";
import { entityTypesOf, planFetch, type EntryScope, type FetchPlan, type FetchPlanContext } from "./fetch-plan.ts";
import { memoryStore, redisStore, type EntityCacheStore, type StoreWrite } from "./store.ts";

export interface EntityCacheSettings {
  /** CACHE=on|off. */
  enabled: boolean;
  /** The in-process store's bound (CACHE_MAX_BYTES). */
  maxBytes: number;
  /** How long past its max-age an entry may be served while its subgraph is unavailable (CACHE_STALE_SECONDS). */
  staleSeconds: number;
  /** Per entity type: a max-age in seconds that replaces the hints' (0: never cached) (CACHE_TYPES). */
  typeOverrides: Record<string, number>;
}

export interface EntityRef {
  type: string;
  id: string;
}

export type EvictionReason = "event" | "mutation" | "gap" | "size" | "expired";

/** A stale answer served: what the request's extensions say. */
export interface StaleNotice {
  subgraph: string;
  /** How far past its max-age the oldest entry served was. */
  staleSeconds: number;
}

type ContextWithNotices = GatewayContext & { staleData?: StaleNotice[] };

interface Entry {
  /** Fresh until (ms). */
  f: number;
  /** Servable while its subgraph is unavailable until (ms). */
  s: number;
  /** The tag counts when it was written, in the order of its plan's tags and then `~all`. */
  t: number[];
  d: unknown;
}

const ALL = "~all";
const PLANS_KEPT = 2_000;
/** A type name or id that cannot be part of a key (or is absurdly long) is not cached. */
const KEY_PART = /^[\w.:-]{1,200}$/;

function isUnavailable(error: unknown): boolean {
  if (error instanceof UpstreamError) return true;
  return error instanceof GraphQLError && error.originalError instanceof UpstreamError;
}

function scopeKey(scope: EntryScope, viewer: Viewer | undefined): string | undefined {
  if (scope === "public") return "";
  if (!viewer) return undefined;
  if (scope === "authenticated") return "";
  return scope === "role" ? `r:${viewer.role}` : `v:${viewer.userId}`;
}

const sameCounts = (a: number[], b: number[]) => a.length === b.length && a.every((n, i) => n === b[i]);

export function createEntityCache(
  settings: EntityCacheSettings,
  options: { supergraphSdl: string; redisUrl?: string; log: Logger; metrics: Metrics },
) {
  const { log, metrics } = options;
  const lookups = metrics.counter(
    "gateway_entity_cache_lookups_total",
    "Entities and root answers looked up in the entity cache, by type (`Query` for root answers) and result: hit, miss, stale (served past its max-age while its subgraph was unavailable)",
    ["type", "result"] as const,
  );
  const evictions = metrics.counter(
    "gateway_entity_cache_evictions_total",
    "Entity cache evictions, by reason: event (a domain event named the entity), mutation (a subgraph's answer named it), gap (events may have been missed: everything), size, expired",
    ["reason"] as const,
  );
  const storeErrors = metrics.counter(
    "gateway_entity_cache_store_errors_total",
    "Entity cache store operations that failed (answered without the cache), by operation",
    ["operation"] as const,
  );
  const invalidationDelay = metrics.summary(
    "gateway_entity_cache_invalidation_delay_seconds",
    "From an event's occurredAt (its transaction) to the eviction of its entities here, over the last 10 minutes",
    [] as const,
    { percentiles: [0.5, 0.9, 0.99], maxAgeSeconds: 600 },
  );
  const counts = { hit: 0, miss: 0, stale: 0 };
  const evicted: Record<EvictionReason, number> = { event: 0, mutation: 0, gap: 0, size: 0, expired: 0 };
  const countEviction = (reason: EvictionReason, n = 1) => {
    evicted[reason] += n;
    evictions.inc({ reason }, n);
  };
  const count = (type: string, result: "hit" | "miss" | "stale", n = 1) => {
    if (n <= 0) return;
    counts[result] += n;
    lookups.inc({ type, result }, n);
  };

  const store: EntityCacheStore = options.redisUrl
    ? redisStore({
        url: options.redisUrl,
        prefix: "pooya:gateway:cache:",
        log,
        onReconnect: () => {
          countEviction("gap");
          mustFlush = true;
          void flush();
        },
      })
    : memoryStore(settings.maxBytes, (reason) => countEviction(reason));
  /** Evictions that could not reach the store: nothing is read from it until `~all` is bumped there. */
  let mustFlush = false;
  async function flush() {
    try {
      await store.bumpTags([ALL]);
      mustFlush = false;
    } catch {
      mustFlush = true;
    }
  }
  metrics.gauge("gateway_entity_cache_bytes", "Estimated bytes held by the in-process entity cache", [], (set) =>
    set({}, store.bytes()),
  );

  const hints = cacheHintsOf(options.supergraphSdl);
  const rules = authorizationRules(options.supergraphSdl);
  const entityTypes = entityTypesOf(options.supergraphSdl);
  const typeOverrides = new Map(Object.entries(settings.typeOverrides));
  let planContext: FetchPlanContext | undefined;
  const plans = new LRUCache<string, FetchPlan>({ max: PLANS_KEPT });
  const planOf = (subgraph: string, query: string): FetchPlan | undefined => {
    if (!planContext) return undefined;
    const key = `${subgraph}\n${query}`;
    let plan = plans.get(key);
    if (!plan) plans.set(key, (plan = planFetch(planContext, subgraph, query)));
    return plan;
  };

  async function read(keys: { key: string; field: string }[], tags: string[]) {
    if (mustFlush) {
      await flush();
      if (mustFlush) return undefined;
    }
    try {
      return await store.read(keys, tags);
    } catch {
      storeErrors.inc({ operation: "read" });
      return undefined;
    }
  }

  function write(items: StoreWrite[]) {
    if (!items.length) return;
    // Not awaited: the answer does not wait for the store.
    store.write(items).catch(() => storeErrors.inc({ operation: "write" }));
  }

  async function evict(keys: string[], tags: string[]) {
    try {
      await Promise.all([store.evict(keys), store.bumpTags(tags)]);
    } catch {
      storeErrors.inc({ operation: "evict" });
      mustFlush = true; // the store may hold what these named: read nothing from it until it is flushed
    }
  }

  /** Evicts these entities (and every entry holding their types' fields). */
  async function evictEntities(refs: readonly EntityRef[], reason: EvictionReason) {
    const valid = refs.filter((ref) => KEY_PART.test(ref.type) && KEY_PART.test(String(ref.id)));
    if (!valid.length) return;
    await evict(
      valid.map((ref) => `e:${ref.type}:${ref.id}`),
      [...new Set(valid.map((ref) => ref.type))],
    );
    countEviction(reason, valid.length);
  }

  /** Entities a subgraph's answer says its request changed (Apollo Router's invalidation extension). */
  function invalidationOf(response: GatewayGraphQLResponse): EntityRef[] {
    const items = (response.extensions as { invalidation?: unknown } | undefined)?.invalidation;
    if (!Array.isArray(items)) return [];
    const refs: EntityRef[] = [];
    for (const item of items as { kind?: unknown; type?: unknown; key?: { id?: unknown } }[]) {
      if (item?.kind === "entity" && typeof item.type === "string" && item.key && typeof item.key.id === "string")
        refs.push({ type: item.type, id: item.key.id });
    }
    return refs;
  }

  async function sendAndInvalidate(
    send: (request: GatewayGraphQLRequest) => Promise<GatewayGraphQLResponse>,
    request: GatewayGraphQLRequest,
  ) {
    const response = await send(request);
    const refs = invalidationOf(response);
    if (refs.length) await evictEntities(refs, "mutation");
    return response;
  }

  function noteStale(context: ContextWithNotices, subgraph: string, oldestFreshUntil: number) {
    const staleSeconds = Math.max(0, Math.ceil((Date.now() - oldestFreshUntil) / 1000));
    (context.staleData ??= []).push({ subgraph, staleSeconds });
  }

  const entry = (maxAge: number, tags: number[], data: unknown): string => {
    const f = Date.now() + maxAge * 1000;
    return JSON.stringify({ f, s: f + settings.staleSeconds * 1000, t: tags, d: data } satisfies Entry);
  };
  const ttlOf = (maxAge: number) => (maxAge + settings.staleSeconds) * 1000;

  async function fetchEntities(
    subgraph: string,
    plan: Extract<FetchPlan, { kind: "entities" }>,
    request: GatewayGraphQLRequest,
    context: ContextWithNotices,
    send: (request: GatewayGraphQLRequest) => Promise<GatewayGraphQLResponse>,
  ): Promise<GatewayGraphQLResponse> {
    const { representations, ...otherVariables } = request.variables ?? {};
    if (!Array.isArray(representations)) return sendAndInvalidate(send, request);
    const variablesKey = Object.keys(otherVariables).length ? JSON.stringify(otherVariables) : "";
    const viewer = context.viewer ?? undefined;

    // Which representations may come from the cache, under which key.
    const asked: { index: number; key: string; field: string; type: string; tags: string[]; maxAge: number }[] = [];
    const tagSet = new Set<string>();
    for (let index = 0; index < representations.length; index++) {
      const representation = representations[index] as Record<string, unknown> | null;
      const type = representation?.__typename;
      const id = representation?.id;
      if (typeof type !== "string" || (typeof id !== "string" && typeof id !== "number")) continue;
      const selection = plan.types.get(type);
      if (!selection || !KEY_PART.test(type) || !KEY_PART.test(String(id))) continue;
      const scope = scopeKey(selection.scope, viewer);
      if (scope === undefined) continue;
      // Fields a representation carries besides its key (@requires) change the answer: they are part of the key.
      const extra = Object.keys(representation!).length > 2 ? JSON.stringify(representation) : "";
      asked.push({
        index,
        key: `e:${type}:${id}`,
        field: `${selection.selection}|${scope}|${variablesKey}|${extra}`,
        type,
        tags: selection.tags,
        maxAge: selection.maxAge,
      });
      for (const tag of selection.tags) tagSet.add(tag);
    }
    if (!asked.length) return sendAndInvalidate(send, request);
    const tags = [...tagSet, ALL];
    const found = await read(asked, tags);
    const tagCount = new Map(tags.map((tag, i) => [tag, found?.tags[i] ?? 0]));
    const now = Date.now();

    const results: unknown[] = new Array(representations.length).fill(null);
    const hit = new Set<number>();
    const stale = new Map<number, Entry>();
    const byIndex = new Map<number, { version: number; tagCounts: number[]; lookup: (typeof asked)[number] }>();
    for (let i = 0; i < asked.length; i++) {
      const lookup = asked[i]!;
      const held = found?.entries[i];
      const tagCounts = [...lookup.tags.map((tag) => tagCount.get(tag)!), tagCount.get(ALL)!];
      byIndex.set(lookup.index, { version: held?.version ?? 0, tagCounts, lookup });
      if (!found || !held?.value) continue;
      let cached: Entry;
      try {
        cached = JSON.parse(held.value) as Entry;
      } catch {
        continue;
      }
      if (!sameCounts(cached.t, tagCounts)) continue;
      if (now < cached.f) {
        results[lookup.index] = cached.d;
        hit.add(lookup.index);
      } else if (now < cached.s) stale.set(lookup.index, cached);
    }
    const missing: number[] = [];
    for (let index = 0; index < representations.length; index++) if (!hit.has(index)) missing.push(index);
    const hitsByType = new Map<string, number>();
    for (const index of hit) {
      const type = byIndex.get(index)!.lookup.type;
      hitsByType.set(type, (hitsByType.get(type) ?? 0) + 1);
    }
    for (const [type, n] of hitsByType) count(type, "hit", n);
    if (!missing.length) return { data: { _entities: results } };

    let response: GatewayGraphQLResponse;
    try {
      response = await sendAndInvalidate(send, {
        ...request,
        variables: { ...request.variables, representations: missing.map((index) => representations[index]) },
      });
    } catch (error) {
      // Unavailable, and every entity it was asked for is here though past its max-age: serve those.
      if (isUnavailable(error) && missing.every((index) => stale.has(index))) {
        let oldest = Infinity;
        for (const index of missing) {
          const cached = stale.get(index)!;
          results[index] = cached.d;
          oldest = Math.min(oldest, cached.f);
          count(byIndex.get(index)!.lookup.type, "stale");
        }
        noteStale(context, subgraph, oldest);
        return { data: { _entities: results } };
      }
      throw error;
    }
    for (const index of missing) {
      const lookup = byIndex.get(index)?.lookup;
      if (lookup) count(lookup.type, "miss");
    }
    const answered = (response.data as { _entities?: unknown[] } | null | undefined)?._entities;
    // Errors point at the position in the smaller list: point them at Apollo's.
    const failed = new Set<number>();
    const errors = response.errors?.map((error) => {
      const path = error.path;
      if (path?.[0] !== "_entities" || typeof path[1] !== "number") return error;
      const index = missing[path[1]];
      if (index === undefined) return error;
      failed.add(index);
      return { ...error, path: ["_entities", index, ...path.slice(2)] };
    });
    if (!Array.isArray(answered)) {
      // Nothing usable came back: as without a cache, the fetch failed as a whole.
      return { ...response, ...(errors ? { errors } : {}) };
    }
    const writes: StoreWrite[] = [];
    for (let k = 0; k < missing.length; k++) {
      const index = missing[k]!;
      const value = answered[k] ?? null;
      results[index] = value;
      const known = byIndex.get(index);
      if (!known || !found || value === null || failed.has(index)) continue;
      writes.push({
        key: known.lookup.key,
        field: known.lookup.field,
        value: entry(known.lookup.maxAge, known.tagCounts, value),
        ttlMs: ttlOf(known.lookup.maxAge),
        version: known.version,
      });
    }
    write(writes);
    return { ...response, data: { ...response.data, _entities: results }, ...(errors ? { errors } : {}) };
  }

  async function fetchRoot(
    subgraph: string,
    plan: Extract<FetchPlan, { kind: "root" }>,
    request: GatewayGraphQLRequest,
    context: ContextWithNotices,
    send: (request: GatewayGraphQLRequest) => Promise<GatewayGraphQLResponse>,
  ): Promise<GatewayGraphQLResponse> {
    const scope = scopeKey(plan.scope, context.viewer ?? undefined);
    if (scope === undefined) return sendAndInvalidate(send, request);
    const lookup = { key: `r:${plan.selection}`, field: `${scope}|${JSON.stringify(request.variables ?? {})}` };
    const tags = [...plan.tags, ALL];
    const found = await read([lookup], tags);
    const held = found?.entries[0];
    let staleEntry: Entry | undefined;
    if (found && held?.value) {
      try {
        const cached = JSON.parse(held.value) as Entry;
        if (sameCounts(cached.t, found.tags)) {
          if (Date.now() < cached.f) {
            count("Query", "hit");
            return { data: cached.d as Record<string, unknown> };
          }
          if (Date.now() < cached.s) staleEntry = cached;
        }
      } catch {
        // not an entry: a miss
      }
    }
    let response: GatewayGraphQLResponse;
    try {
      response = await sendAndInvalidate(send, request);
    } catch (error) {
      if (staleEntry && isUnavailable(error)) {
        count("Query", "stale");
        noteStale(context, subgraph, staleEntry.f);
        return { data: staleEntry.d as Record<string, unknown> };
      }
      throw error;
    }
    count("Query", "miss");
    if (found && response.data && !response.errors?.length)
      write([
        {
          ...lookup,
          value: entry(plan.maxAge, found.tags, response.data),
          ttlMs: ttlOf(plan.maxAge),
          version: held?.version ?? 0,
        },
      ]);
    return response;
  }

  return {
    enabled: settings.enabled,
    store: store.kind,
    /** Resolves once the store is reachable, or after its connect timeout (1 s). */
    ready: () => store.ready(),
    /** Called once the supergraph's API schema is loaded: until then nothing is cached. */
    useSchema(schema: GraphQLSchema) {
      planContext = { schema, hints, rules, entityTypes, typeOverrides };
      plans.clear();
    },
    /** One subgraph fetch, through the cache where its plan allows. */
    async fetch(
      subgraph: string,
      options: GraphQLDataSourceProcessOptions<GatewayContext>,
      send: (request: GatewayGraphQLRequest) => Promise<GatewayGraphQLResponse>,
    ): Promise<GatewayGraphQLResponse> {
      const { request } = options;
      const context = options.context as ContextWithNotices;
      const plan =
        settings.enabled && request.query && "viewer" in context ? planOf(subgraph, request.query) : undefined;
      if (!plan || plan.kind === "none") return sendAndInvalidate(send, request);
      if (plan.kind === "entities") return fetchEntities(subgraph, plan, request, context, send);
      return fetchRoot(subgraph, plan, request, context, send);
    },
    /** Domain events: evicts the entities they name; measures how long after its transaction each one was applied. */
    async applyEvents(events: readonly { entities?: EntityRef[]; occurredAt?: string }[]) {
      const refs = events.flatMap((event) => event.entities ?? []);
      if (!refs.length) return;
      await evictEntities(refs, "event");
      const now = Date.now();
      for (const event of events) {
        const at = event.occurredAt ? Date.parse(event.occurredAt) : NaN;
        if (event.entities?.length && Number.isFinite(at)) invalidationDelay.observe(Math.max(0, now - at) / 1000);
      }
    },
    evictEntities,
    /** Events may have been missed: every entry goes. */
    async clear() {
      countEviction("gap");
      await flush();
    },
    /** What the cache did since start (tests and `npm run bench` read it; /metrics has the same). */
    stats() {
      return { store: store.kind, ...counts, evictions: { ...evicted }, bytes: store.bytes() };
    },
    close: () => store.close(),
  };
}

export type EntityCache = ReturnType<typeof createEntityCache>;

/** Adds a STALE_DATA warning to the answer when any of its fields came from the cache past their max-age. */
/** The answer's `extensions.warnings` when the entity cache served fields past their max-age (undefined: none). */
export function staleDataWarnings(contextValue: unknown) {
  const notices = (contextValue as ContextWithNotices).staleData;
  if (!notices?.length) return undefined;
  const bySubgraph = new Map<string, number>();
  for (const { subgraph, staleSeconds } of notices)
    bySubgraph.set(subgraph, Math.max(staleSeconds, bySubgraph.get(subgraph) ?? 0));
  return [...bySubgraph].map(([subgraph, staleSeconds]) => ({
    code: "STALE_DATA",
    message: `The ${subgraph} service is unavailable: some fields are from the gateway's cache, up to ${staleSeconds} s past their max-age.`,
    subgraph,
    staleSeconds,
  }));
}

export function staleDataPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          const warnings = staleDataWarnings(contextValue);
          if (!warnings || response.body.kind !== "single") return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, warnings };
        },
      };
    },
  };
}
