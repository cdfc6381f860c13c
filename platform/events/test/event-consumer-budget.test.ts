// A consumer catching up with a backlog must not hold its database connection for the whole
// page: on embedded Postgres a service has one connection, and its requests wait for it. Here
// the pool has one connection too (on the local Postgres, the notifications service's own
// inbox and cursor tables), the handler costs 5 ms of database time per event, and a page of
// 500 events is applied while the service's "requests" (one query every 20 ms) use the same pool.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, test } from "vitest";
import pg from "pg";
import { createDatabases } from "@pooya/system";
import { createLogger } from "@pooya/runtime";
import { createServiceIdentity, generateSigningKey } from "@pooya/identity";
import { createEventConsumer, type EventEnvelope, type SqlRunner } from "@pooya/events";
import { TRANSACTION_BUDGET_MS, UnprocessableEvent } from "../src/consumer.ts";

const identity = createServiceIdentity("test", [await generateSigningKey()]);

const MIGRATION = new URL(
  "../../../subgraphs/notifications/prisma/migrations/20261127222019_init/migration.sql",
  import.meta.url,
);
let databases: Awaited<ReturnType<typeof createDatabases>>;
let pool: pg.Pool;

beforeAll(async () => {
  databases = await createDatabases(["budget"]);
  pool = new pg.Pool({ connectionString: databases.urls.budget, max: 1 });
  await pool.query(readFileSync(MIGRATION, "utf8"));
  await pool.query("CREATE TABLE applied (event_id uuid PRIMARY KEY)");
});
afterAll(async () => {
  await pool.end();
  await databases.drop();
});

/** Prisma's raw-SQL interface over one pg connection (what the services' transactions give a handler). */
function sqlRunner(client: pg.PoolClient): SqlRunner {
  return {
    $executeRawUnsafe: async (text, ...values) => (await client.query(text, values)).rowCount ?? 0,
    $queryRawUnsafe: async <T>(text: string, ...values: unknown[]) => (await client.query(text, values)).rows as T,
  };
}

function consumerOver(handle: (tx: SqlRunner, event: EventEnvelope) => Promise<void>) {
  const transactions = { committed: 0 };
  const consumer = createEventConsumer<SqlRunner>({
    name: "test",
    sources: {},
    pool,
    transaction: async (work) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work(sqlRunner(client));
        await client.query("COMMIT");
        transactions.committed += 1;
        return result;
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      } finally {
        client.release();
      }
    },
    handle,
    identity,
    pollIntervalMs: 1_000,
    log: createLogger({ service: "test", level: "silent" }),
  });
  return { consumer, transactions };
}

const page = (source: string, count: number): EventEnvelope[] =>
  Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    type: "Tested",
    version: 1,
    occurredAt: new Date().toISOString(),
    source,
    sequence: String(i + 1),
    payload: { n: i },
  }));

const slowHandler = async (tx: SqlRunner, event: EventEnvelope) => {
  await tx.$queryRawUnsafe("SELECT pg_sleep(0.005)");
  await tx.$executeRawUnsafe("INSERT INTO applied (event_id) VALUES ($1::uuid)", event.id);
};

test("a page of 500 events is applied in short transactions, and the service's queries are answered meanwhile", async () => {
  const { consumer, transactions } = consumerOver(slowHandler);
  const events = page("budget-a", 500);
  let applying = true;
  const waits: number[] = [];
  const requests = (async () => {
    while (applying) {
      const started = performance.now();
      await pool.query("SELECT 1");
      waits.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const applied = await consumer.apply(events);
  applying = false;
  await requests;

  expect(applied).toBe(500);
  const { rows } = await pool.query(
    "SELECT (SELECT count(*)::int FROM applied) AS applied, (SELECT count(*)::int FROM inbox_events) AS inbox, (SELECT last_sequence::int FROM replication_cursors WHERE source = 'budget-a') AS cursor",
  );
  expect(rows[0]).toEqual({ applied: 500, inbox: 500, cursor: 500 });
  // ≥ 2.5 s of handler time in transactions of about TRANSACTION_BUDGET_MS: many commits, not one.
  expect(transactions.committed).toBeGreaterThanOrEqual(2_500 / (TRANSACTION_BUDGET_MS * 4));
  // A query waited for at most about one transaction, never for the page.
  expect(waits.length).toBeGreaterThan(20);
  expect(Math.max(...waits)).toBeLessThan(1_000);
  // Applied again (a redelivery): nothing new, nothing twice.
  expect(await consumer.apply(events)).toBe(0);
  expect((await pool.query("SELECT count(*)::int AS n FROM applied")).rows[0].n).toBe(500);
});

test("an unprocessable event in the middle of a page is skipped; every other event of the page is applied once", async () => {
  const events = page("budget-b", 300);
  const bad = events[170]!.id;
  const { consumer } = consumerOver(async (tx, event) => {
    if (event.id === bad) throw new UnprocessableEvent("payload breaks its schema");
    await slowHandler(tx, event);
  });
  await pool.query("TRUNCATE applied");
  expect(await consumer.apply(events)).toBe(299);
  const { rows } = await pool.query("SELECT event_id FROM applied");
  expect(rows).toHaveLength(299);
  expect(rows.map((r) => r.event_id)).not.toContain(bad);
  // The bad one is recorded as seen (it is not read again), and the cursor is past the page.
  expect((await pool.query("SELECT count(*)::int AS n FROM inbox_events WHERE event_id = $1", [bad])).rows[0].n).toBe(
    1,
  );
  expect(
    (await pool.query("SELECT last_sequence::int AS s FROM replication_cursors WHERE source = 'budget-b'")).rows[0].s,
  ).toBe(300);
});
