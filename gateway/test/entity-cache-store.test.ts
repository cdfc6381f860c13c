// The entity cache's stores, in process and in the machine's Redis: a write made with the version
// read before an eviction is dropped (an answer in flight while its entity changed is never
// stored), tags count up, and a Redis that cannot be reached fails fast instead of queueing.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger } from "@pooya/runtime";
import { memoryStore, redisStore, type EntityCacheStore } from "../src/entity-cache/store.ts";

const log = createLogger({ service: "test", level: "silent" });
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const opened: EntityCacheStore[] = [];
afterAll(() => Promise.all(opened.map((store) => store.close())));

const stores: [string, () => EntityCacheStore][] = [
  ["memory", () => memoryStore(1024 * 1024)],
  [
    "redis",
    () => redisStore({ url: REDIS_URL, prefix: `test:${randomBytes(4).toString("hex")}:`, log, onReconnect: () => {} }),
  ],
];

describe.each(stores)("%s store", (_, open) => {
  const store = open();
  opened.push(store);
  beforeAll(() => store.ready());

  test("an entry written with the version it read is kept; one written across an eviction is dropped", async () => {
    const key = { key: "e:Course:1", field: "courses:abc||" };
    const first = await store.read([key], []);
    expect(first.entries[0]).toEqual({ value: undefined, version: 0 });
    await store.write([{ ...key, value: "v1", ttlMs: 60_000, version: first.entries[0]!.version }]);
    expect((await store.read([key], [])).entries[0]).toEqual({ value: "v1", version: 0 });

    // A fetch reads (version 0), an event evicts the entity meanwhile, the fetch's answer arrives.
    const inFlight = await store.read([key], []);
    await store.evict([key.key]);
    await store.write([{ ...key, value: "stale", ttlMs: 60_000, version: inFlight.entries[0]!.version }]);
    const after = await store.read([key], []);
    expect(after.entries[0]).toEqual({ value: undefined, version: 1 });
    // The next fetch, after the eviction, may store its answer.
    await store.write([{ ...key, value: "v2", ttlMs: 60_000, version: after.entries[0]!.version }]);
    expect((await store.read([key], [])).entries[0]).toEqual({ value: "v2", version: 1 });
  });

  test("tags count up, each on its own", async () => {
    const before = await store.read([], ["Course", "~all"]);
    await store.bumpTags(["Course"]);
    await store.bumpTags(["Course", "~all"]);
    const after = await store.read([], ["Course", "~all"]);
    expect(after.tags).toEqual([before.tags[0]! + 2, before.tags[1]! + 1]);
  });
});

test("a Redis that cannot be reached fails reads at once (a miss), not after a queue fills", async () => {
  const store = redisStore({ url: "redis://127.0.0.1:1", prefix: "x:", log, onReconnect: () => {} });
  opened.push(store);
  const started = Date.now();
  await expect(store.read([{ key: "e:User:1", field: "f" }], ["User"])).rejects.toThrow();
  expect(Date.now() - started).toBeLessThan(2_000);
});
