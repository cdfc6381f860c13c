// Caches a process keeps for the life of the process, each bounded twice: by entries and by an
// estimate of the memory its entries hold (lru-cache's `max` and `maxSize`); the least recently
// used go first. Each has a name, under which a service's /metrics reports its entries and bytes
// (Metrics.trackCache).
import { LRUCache } from "lru-cache";
import type { DocumentNode } from "graphql";

export interface CacheBounds {
  /** Entries kept at most. */
  maxEntries: number;
  /** Estimated bytes of the entries (keys included) kept at most. */
  maxBytes: number;
}

/** What every entry costs beyond its own key and value: the LRU's slots, the Map entry, the object headers. */
export const ENTRY_OVERHEAD_BYTES = 100;

/**
 * Heap a parsed document holds per character of its text. graphql-js keeps every token (linked
 * to the next) and a location on every node: about 24 KB for a 255-character query on Node 24
 * (measured: 5 000 parsed operations, heap after a full collection), where its JSON is 5.9 KB.
 */
export const DOCUMENT_BYTES_PER_CHARACTER = 100;

/** Estimated heap of a parsed document: from the length of its text (its JSON when it has no location). */
export function documentBytes(document: DocumentNode): number {
  const length = document.loc?.end ?? JSON.stringify(document).length / 20;
  return Math.ceil(length * DOCUMENT_BYTES_PER_CHARACTER);
}

/** Bytes of a string in V8: one per character (Latin-1), two once any character is beyond it. */
export const stringBytes = (text: string) => (/[\u0100-\uffff]/.test(text) ? text.length * 2 : text.length);

/** What the gauges read of a cache: its name, entries and estimated bytes. */
export interface TrackedCache {
  readonly cacheName: string;
  readonly size: number;
  readonly calculatedSize: number;
}

/** lru-cache's bound on keys and values: anything but null and undefined. */
type Present = NonNullable<unknown>;

export interface BoundedCache<K extends Present, V extends Present> extends LRUCache<K, V> {
  readonly cacheName: string;
  readonly bounds: CacheBounds;
}

/**
 * An LRU cache of at most `bounds.maxEntries` entries and `bounds.maxBytes` estimated bytes.
 * `sizeOf` estimates one entry's value (its key and ENTRY_OVERHEAD_BYTES are added). A value
 * larger than the whole budget is not kept.
 */
export function boundedCache<K extends Present, V extends Present>(
  name: string,
  bounds: CacheBounds,
  sizeOf: (value: V, key: K) => number,
): BoundedCache<K, V> {
  const cache = new LRUCache<K, V>({
    max: bounds.maxEntries,
    maxSize: bounds.maxBytes,
    sizeCalculation: (value, key) =>
      Math.max(
        1,
        Math.ceil(sizeOf(value, key) + (typeof key === "string" ? stringBytes(key) : 8) + ENTRY_OVERHEAD_BYTES),
      ),
  }) as BoundedCache<K, V>;
  Object.defineProperties(cache, { cacheName: { value: name }, bounds: { value: { ...bounds } } });
  return cache;
}

/**
 * A bounded cache behind the interface Apollo Server and Apollo Gateway take for their own
 * caches (@apollo/utils.keyvaluecache's KeyValueCache: the document store, the persisted-query
 * cache, the query-plan store). Their default is a 30 MiB LRU measured by each value's JSON,
 * which for a parsed document is about a quarter of the heap it holds.
 */
export function boundedKeyValueCache<V extends Present>(
  name: string,
  bounds: CacheBounds,
  sizeOf: (value: V, key: string) => number,
) {
  const cache = boundedCache<string, V>(name, bounds, sizeOf);
  return {
    cache,
    async get(key: string): Promise<V | undefined> {
      return cache.get(key);
    },
    async set(key: string, value: V, options?: { ttl?: number | null }): Promise<void> {
      cache.set(key, value, options?.ttl ? { ttl: options.ttl * 1000 } : undefined);
    },
    async delete(key: string): Promise<boolean> {
      return cache.delete(key);
    },
    clear(): void {
      cache.clear();
    },
  };
}
