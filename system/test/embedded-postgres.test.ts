// The embedded Postgres of `npm start` (PGlite over its socket server) keeps nothing per
// query: rows read through the socket do not stay on the heap.
import { afterAll, beforeAll, expect, test } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../src/embedded-postgres.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let dir: string;
let postgres: EmbeddedPostgres;
let pool: pg.Pool;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pooya-embedded-"));
  postgres = await startEmbeddedPostgres(dir, { port: 0, maxConnections: 2 });
  pool = new pg.Pool({ connectionString: postgres.url, max: 1 });
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await postgres?.stop();
  await rm(dir, { recursive: true, force: true });
});

const heapAfterCollection = async () => {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

test("rows read through the socket are not kept: 300 queries of 200 rows leave the heap where it was", async () => {
  const read = async (times: number) => {
    for (let i = 0; i < times; i++) {
      const { rows } = await pool.query("SELECT n, md5(n::text) AS hash FROM generate_series(1, 200) AS n");
      expect(rows).toHaveLength(200);
    }
  };
  await read(50); // warm: code, caches, the pool's connection
  const before = await heapAfterCollection();
  await read(300);
  const grown = (await heapAfterCollection()) - before;
  // Kept, the 60 000 rows' parsed messages come to well over 10 MB.
  expect(grown).toBeLessThan(3 * 1024 * 1024);
}, 120_000);
