// DataLoader helpers: one query per batch, results put back in key order.
import DataLoader from "dataloader";

/** A loader of one row per key; missing rows come back as null. */
export function rowLoader<K, V>(
  fetch: (keys: readonly K[]) => Promise<V[]>,
  keyOf: (row: V) => K,
  options: { maxBatchSize?: number } = {},
) {
  return new DataLoader<K, V | null>(
    async (keys) => {
      const rows = await fetch(keys);
      const byKey = new Map(rows.map((row) => [keyOf(row), row]));
      return keys.map((key) => byKey.get(key) ?? null);
    },
    { maxBatchSize: options.maxBatchSize ?? 1000 },
  );
}

/** A loader of many rows per key (e.g. the enrollments of each course). */
export function groupLoader<K, V>(
  fetch: (keys: readonly K[]) => Promise<V[]>,
  keyOf: (row: V) => K,
  options: { cacheKeyFn?: (key: K) => unknown } = {},
) {
  return new DataLoader<K, V[], unknown>(
    async (keys) => {
      const rows = await fetch(keys);
      const groups = new Map<unknown, V[]>();
      const cacheKey = options.cacheKeyFn ?? ((k: K) => k);
      for (const row of rows) {
        const key = cacheKey(keyOf(row));
        const group = groups.get(key);
        if (group) group.push(row);
        else groups.set(key, [row]);
      }
      return keys.map((key) => groups.get(cacheKey(key)) ?? []);
    },
    { maxBatchSize: 1000, ...(options.cacheKeyFn ? { cacheKeyFn: options.cacheKeyFn } : {}) },
  );
}

/**
 * Loaders made on first use, one per key, for a request: e.g. one per select list, so fields
 * that ask for the same columns share one batch and different selections get their own.
 */
export function loaderPerKey<L>(): (key: string, create: () => L) => L {
  const loaders = new Map<string, L>();
  return (key, create) => {
    let loader = loaders.get(key);
    if (loader === undefined) {
      loader = create();
      loaders.set(key, loader);
    }
    return loader;
  };
}
