// Where cached subgraph answers live: Redis when REDIS_URL is set (shared by the gateway's
// replicas), else a bounded least-recently-used map in this process. Both keep the same shape:
//
//   entry key (one per entity, `e:Course:<id>`, or per cached root fetch) → fields (one per
//   subgraph selection and scope) holding serialized entries, plus a version `~v`
//   tag counter (one per entity type, and `~all`) → a number
//
// Evicting an entry key bumps its version and drops its fields; a write carries the version read
// before the subgraph was called and is dropped when the version moved meanwhile, so an answer
// that was in flight while an event evicted its entity is never stored (it would be stale until
// its max-age). Bumping a tag makes every entry that recorded an older count of it a miss: that
// evicts, in one step, every root answer and every nested selection that holds the type.
import { LRUCache } from "lru-cache";
import { Redis } from "ioredis";
import type { Logger } from "@pooya/runtime";

export interface StoreRead {
  /** Per key asked: the field's value (undefined: none) and the key's version. */
  entries: { value: string | undefined; version: number }[];
  /** Per tag asked: its count. */
  tags: number[];
}

export interface StoreWrite {
  key: string;
  field: string;
  value: string;
  /** How long the key lives at least (the entry's stale bound). */
  ttlMs: number;
  /** The key's version when it was read: the write is dropped if it moved. */
  version: number;
}

export interface EntityCacheStore {
  readonly kind: "memory" | "redis";
  read(keys: readonly { key: string; field: string }[], tags: readonly string[]): Promise<StoreRead>;
  write(items: readonly StoreWrite[]): Promise<void>;
  /** Drops every field of these keys and bumps their versions. */
  evict(keys: readonly string[]): Promise<void>;
  /** Bumps these tags' counts. */
  bumpTags(tags: readonly string[]): Promise<void>;
  /** Estimated bytes held (memory only). */
  bytes(): number;
  /** Resolves once the store is reachable, or after its connect timeout (it keeps trying in the background). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** How long an evicted key remembers its version: longer than any subgraph call can take. */
export const TOMBSTONE_MS = 120_000;
const VERSION = "~v";

interface MemoryKey {
  version: number;
  fields: Map<string, string>;
  bytes: number;
  /** When the key may go (its longest-lived entry's stale bound). */
  expiresAt: number;
}

/** The in-process store: a bounded LRU of entry keys (by estimated bytes), tags in a map. */
export function memoryStore(maxBytes: number, onEvicted?: (reason: "size" | "expired") => void): EntityCacheStore {
  const keys = new LRUCache<string, MemoryKey>({
    maxSize: maxBytes,
    sizeCalculation: (value, key) => Math.max(1, value.bytes + key.length * 2 + 64),
    dispose: (value, _key, reason) => {
      if (value.fields.size === 0) return;
      if (reason === "evict") onEvicted?.("size");
      else if (reason === "expire") onEvicted?.("expired");
    },
  });
  const tags = new Map<string, number>();
  const live = (key: string) => {
    const held = keys.get(key);
    if (held && held.expiresAt <= Date.now()) {
      keys.delete(key);
      return undefined;
    }
    return held;
  };
  return {
    kind: "memory",
    async read(asked, tagNames) {
      return {
        entries: asked.map(({ key, field }) => {
          const held = live(key);
          return { value: held?.fields.get(field), version: held?.version ?? 0 };
        }),
        tags: tagNames.map((tag) => tags.get(tag) ?? 0),
      };
    },
    async write(items) {
      for (const item of items) {
        const held = live(item.key) ?? { version: 0, fields: new Map(), bytes: 0, expiresAt: 0 };
        if (held.version !== item.version) continue;
        const previous = held.fields.get(item.field);
        held.bytes += item.value.length * 2 - (previous?.length ?? 0) * 2 + (previous ? 0 : item.field.length * 2);
        held.fields.set(item.field, item.value);
        held.expiresAt = Math.max(held.expiresAt, Date.now() + item.ttlMs);
        keys.set(item.key, held); // again: its size changed
      }
    },
    async evict(names) {
      for (const key of names) {
        const version = (live(key)?.version ?? 0) + 1;
        keys.delete(key);
        keys.set(key, { version, fields: new Map(), bytes: 0, expiresAt: Date.now() + TOMBSTONE_MS });
      }
    },
    async bumpTags(names) {
      for (const tag of names) tags.set(tag, (tags.get(tag) ?? 0) + 1);
    },
    bytes: () => keys.calculatedSize,
    ready: () => Promise.resolve(),
    async close() {
      keys.clear();
    },
  };
}

const WRITE_SCRIPT = `
local v = redis.call('HGET', KEYS[1], '${VERSION}') or '0'
if v ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1`;

const EVICT_SCRIPT = `
for i, key in ipairs(KEYS) do
  local v = tonumber(redis.call('HGET', key, '${VERSION}') or '0') + 1
  redis.call('DEL', key)
  redis.call('HSET', key, '${VERSION}', v)
  redis.call('PEXPIRE', key, ARGV[1])
end
return #KEYS`;

type CacheRedis = Redis & {
  cacheWrite(key: string, field: string, value: string, version: string, ttlMs: string): Promise<number>;
  cacheEvict(...args: (string | number)[]): Promise<number>;
};

/**
 * The shared store. Every command has a short timeout and nothing queues while Redis is away: a
 * read that fails is a miss, a write that fails is skipped (the caller counts both); evictions
 * that could not reach it are made up for by `onReconnect` (the caller bumps `~all`).
 */
export function redisStore(options: {
  url: string;
  prefix: string;
  log: Logger;
  commandTimeoutMs?: number;
  onReconnect: () => void;
}): EntityCacheStore {
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: options.commandTimeoutMs ?? 250,
    lazyConnect: false,
  }) as CacheRedis;
  redis.defineCommand("cacheWrite", { numberOfKeys: 1, lua: WRITE_SCRIPT });
  redis.defineCommand("cacheEvict", { lua: EVICT_SCRIPT });
  let down = false;
  redis.on("error", (error: Error) => {
    if (!down) options.log.warn({ err: { message: error.message } }, "entity cache: Redis unreachable, not caching");
    down = true;
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    options.log.info("entity cache: Redis reachable again; entries written before the outage are dropped");
    options.onReconnect();
  });
  const prefix = options.prefix;
  const connected = new Promise<void>((resolve) => {
    if (redis.status === "ready") resolve();
    redis.once("ready", () => resolve());
    setTimeout(resolve, 1_000).unref();
  });
  return {
    kind: "redis",
    async read(asked, tagNames) {
      const pipeline = redis.pipeline();
      for (const { key, field } of asked) pipeline.hmget(prefix + key, field, VERSION);
      if (tagNames.length) pipeline.mget(...tagNames.map((tag) => `${prefix}tag:${tag}`));
      const results = (await pipeline.exec()) ?? [];
      const entries = asked.map((_, i) => {
        const [error, value] = results[i] ?? [new Error("no answer")];
        if (error) throw error;
        const [field, version] = value as [string | null, string | null];
        return { value: field ?? undefined, version: version ? Number(version) : 0 };
      });
      let tags: number[] = [];
      if (tagNames.length) {
        const [error, counts] = results[asked.length] ?? [new Error("no answer")];
        if (error) throw error;
        tags = (counts as (string | null)[]).map((count) => (count ? Number(count) : 0));
      }
      return { entries, tags };
    },
    async write(items) {
      if (!items.length) return;
      const pipeline = redis.pipeline() as unknown as {
        cacheWrite: (...args: string[]) => void;
        exec: () => Promise<unknown>;
      };
      for (const item of items)
        pipeline.cacheWrite(prefix + item.key, item.field, item.value, String(item.version), String(item.ttlMs));
      await pipeline.exec();
    },
    async evict(names) {
      if (!names.length) return;
      await redis.cacheEvict(names.length, ...names.map((key) => prefix + key), TOMBSTONE_MS);
    },
    async bumpTags(names) {
      if (!names.length) return;
      const pipeline = redis.pipeline();
      for (const tag of names) pipeline.incr(`${prefix}tag:${tag}`);
      await pipeline.exec();
    },
    bytes: () => 0,
    ready: () => connected,
    async close() {
      redis.disconnect();
    },
  };
}
