// The event tables' one typed definition (EventTables, the columns the outbox, inbox and relay
// statements are type-checked against) must be what every service's migrations create, followed
// by the kit's OUTBOX_TABLES_DDL for a producer (it adds the columns added since, e.g. entities):
// each service's committed migrations are applied to a fresh database and the outbox_events,
// inbox_events and replication_cursors it has are compared column by column (name, type,
// nullability). A migration that renames, drops or adds a column there fails this test, and so
// does EVENT_TABLES_DDL (what the kit creates for new services) if it strays from the definition;
// tsc holds EVENT_TABLE_COLUMNS to the interfaces.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import pg from "pg";
import { SUBGRAPHS, SUBGRAPH_NAMES, createDatabases } from "@pooya/system";
import { EVENT_TABLE_COLUMNS, EVENT_TABLES_DDL, EVENT_TABLE_NAMES, OUTBOX_TABLES_DDL } from "@pooya/events";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

const migrationsOf = (service: string) => `${ROOT}subgraphs/${service}/prisma/migrations`;

type Columns = Record<string, { type: string; nullable: boolean }>;
const EVENT_TABLES = Object.keys(EVENT_TABLE_COLUMNS);
const found = new Map<string, Record<string, Columns>>();
/** What EVENT_TABLES_DDL alone creates, in an empty database. */
let fromDdl: Record<string, Columns> = {};

async function eventTableColumns(client: pg.Client): Promise<Record<string, Columns>> {
  const { rows } = await client.query<{ table: string; column: string; type: string; nullable: string }>(
    `SELECT table_name AS table, column_name AS column, data_type AS type, is_nullable AS nullable
     FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY($1::text[])`,
    [EVENT_TABLES],
  );
  const tables: Record<string, Columns> = {};
  for (const row of rows) (tables[row.table] ??= {})[row.column] = { type: row.type, nullable: row.nullable === "YES" };
  return tables;
}
let databases: Awaited<ReturnType<typeof createDatabases>>;
const producers = new Set<string>(
  SUBGRAPHS.filter((s) => (s as { publishes?: { events?: unknown } }).publishes?.events).map((s) => s.name),
);

beforeAll(async () => {
  databases = await createDatabases([...SUBGRAPH_NAMES, "ddl"]);
  const empty = new pg.Client({ connectionString: databases.urls.ddl });
  await empty.connect();
  try {
    await empty.query(EVENT_TABLES_DDL);
    await empty.query(EVENT_TABLES_DDL); // idempotent: a second run (every start) changes nothing
    fromDdl = await eventTableColumns(empty);
  } finally {
    await empty.end();
  }
  for (const service of SUBGRAPH_NAMES) {
    const client = new pg.Client({ connectionString: databases.urls[service] });
    await client.connect();
    try {
      const dir = migrationsOf(service);
      const names = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
      for (const name of names) await client.query(readFileSync(`${dir}/${name}/migration.sql`, "utf8"));
      // As the kit does after them, for a service that produces events (define-subgraph.ts).
      if (producers.has(service)) await client.query(OUTBOX_TABLES_DDL);
      found.set(service, await eventTableColumns(client));
    } finally {
      await client.end();
    }
  }
}, 60_000);

afterAll(async () => {
  await databases?.drop();
});

test("every service's event tables have exactly the columns of the shared typed definition", () => {
  const seen = new Set<string>();
  for (const [service, tables] of found) {
    for (const [table, columns] of Object.entries(tables)) {
      seen.add(table);
      expect({ service, table, columns }).toEqual({
        service,
        table,
        columns: EVENT_TABLE_COLUMNS[table as keyof typeof EVENT_TABLE_COLUMNS],
      });
    }
  }
  // Each table exists somewhere (a consumer has an inbox and cursors, every producer an outbox).
  expect([...seen].sort()).toEqual([...EVENT_TABLES].sort());
  expect(found.get("users")).toHaveProperty("outbox_events");
  expect(found.get("notifications")).toHaveProperty("inbox_events");
});

test("EVENT_TABLES_DDL creates exactly the shared typed definition, and Prisma treats those tables as external", () => {
  expect(fromDdl).toEqual(EVENT_TABLE_COLUMNS);
  expect([...EVENT_TABLE_NAMES].sort()).toEqual([...EVENT_TABLES].sort());
  const config = readFileSync(`${ROOT}prisma.config.ts`, "utf8");
  for (const table of EVENT_TABLE_NAMES) expect(config).toContain(`"public.${table}"`);
  // …and no service models them again.
  for (const service of SUBGRAPH_NAMES) {
    const schema = readFileSync(`${ROOT}subgraphs/${service}/prisma/schema.prisma`, "utf8");
    for (const table of EVENT_TABLE_NAMES) expect(schema).not.toContain(`@@map("${table}")`);
  }
});
