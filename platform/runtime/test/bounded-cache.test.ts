// The bounded caches evict: by entries, and by estimated bytes, whichever is reached first.
import { describe, expect, test } from "vitest";
import { parse, type DocumentNode } from "graphql";
import { boundedCache, boundedKeyValueCache, createMetrics, documentBytes } from "../src/index.ts";

describe("boundedCache", () => {
  test("many distinct entries: never more than maxEntries, the least recently used go", () => {
    const cache = boundedCache<string, string>(
      "test-entries",
      { maxEntries: 100, maxBytes: 100_000_000 },
      (value) => value.length,
    );
    for (let i = 0; i < 10_000; i++) {
      cache.set(`key ${i}`, `value ${i}`);
      if (i === 50) cache.get("key 0"); // recently used: kept over the others
    }
    expect(cache.size).toBe(100);
    expect(cache.has("key 9999")).toBe(true);
    expect(cache.has("key 1")).toBe(false);
  });

  test("many distinct large entries: the estimated bytes stay under maxBytes", () => {
    const cache = boundedCache<string, string>(
      "test-bytes",
      { maxEntries: 1_000_000, maxBytes: 50_000 },
      (value) => value.length,
    );
    for (let i = 0; i < 5_000; i++) cache.set(`key ${i}`, "x".repeat(1_000 + (i % 500)));
    expect(cache.calculatedSize).toBeLessThanOrEqual(50_000);
    expect(cache.size).toBeGreaterThan(10);
    expect(cache.size).toBeLessThan(50);
  });

  test("an entry larger than the whole budget is not kept", () => {
    const cache = boundedCache<string, string>(
      "test-huge",
      { maxEntries: 10, maxBytes: 2_000 },
      (value) => value.length,
    );
    cache.set("small", "x");
    cache.set("huge", "x".repeat(10_000));
    expect(cache.has("huge")).toBe(false);
    expect(cache.has("small")).toBe(true);
  });
});

describe("boundedKeyValueCache (Apollo's document store)", () => {
  test("parsed documents are counted by the heap they hold, and evicted", async () => {
    const store = boundedKeyValueCache<DocumentNode>(
      "documents",
      { maxEntries: 1_000, maxBytes: 1_000_000 },
      documentBytes,
    );
    for (let i = 0; i < 2_000; i++) {
      const query = `query Q${i}($id: ID!) { a${i}: meal(id: $id) { id name price servingDate } me { id name wallet { balance } } }`;
      await store.set(`hash${i}`, parse(query));
    }
    // About 100 bytes of heap per character of a query: 1 MB holds some 90 of these, not 1 000.
    expect(store.cache.calculatedSize).toBeLessThanOrEqual(1_000_000);
    expect(store.cache.size).toBeGreaterThan(50);
    expect(store.cache.size).toBeLessThan(150);
    expect(await store.get("hash1999")).toBeDefined();
    expect(await store.get("hash0")).toBeUndefined();
  });

  test("its entries and bytes are reported in /metrics", async () => {
    const metrics = createMetrics("test");
    const store = boundedKeyValueCache<string>(
      "persisted-queries",
      { maxEntries: 3, maxBytes: 1_000_000 },
      (text) => text.length,
    );
    metrics.trackCache(store.cache);
    for (let i = 0; i < 10; i++) await store.set(`apq:${i}`, `{ a${i} }`);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^cache_entries\{cache="persisted-queries",service="test"\} 3$/m);
    expect(text).toMatch(
      new RegExp(`^cache_size_bytes\\{cache="persisted-queries",service="test"\\} ${store.cache.calculatedSize}$`, "m"),
    );
  });
});
