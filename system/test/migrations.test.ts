// The in-process migration runner against real Postgres: concurrent starts, failures, and
// agreement with Prisma's own CLI afterwards.
import { afterAll, beforeAll, expect, test } from "vitest";
import { mkdtemp, mkdir, writeFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { applyMigrations } from "@pooya/subgraph-kit";
import { createDatabases } from "../src/test-databases.ts";
import { runPrisma } from "../src/prisma-cli.ts";

const migrationsOf = (service: string) =>
  fileURLToPath(new URL(`../../subgraphs/${service}/prisma/migrations`, import.meta.url));
let databases: Awaited<ReturnType<typeof createDatabases>>;
beforeAll(async () => {
  databases = await createDatabases(["courses", "food", "broken"]);
});
afterAll(() => databases?.drop());

async function migrationRows(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (
      await client.query(
        `SELECT migration_name, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
      )
    ).rows;
  } finally {
    await client.end();
  }
}

test("two processes migrating the same database at once: each migration applied exactly once", async () => {
  const url = databases.urls.courses!;
  const dir = migrationsOf("courses");
  const results = await Promise.all([applyMigrations(url, dir), applyMigrations(url, dir), applyMigrations(url, dir)]);
  const applied = results.flat();
  const rows = await migrationRows(url);
  expect(applied.sort()).toEqual(rows.map((r) => r.migration_name).sort());
  expect(rows.every((r) => r.finished_at !== null && r.applied_steps_count === 1)).toBe(true);
  expect(await applyMigrations(url, dir)).toEqual([]);
});

test("prisma migrate status and deploy accept a database migrated in-process", async () => {
  const url = databases.urls.food!;
  await applyMigrations(url, migrationsOf("food"));
  const status = runPrisma("food", ["migrate", "status"], { SERVICE_DATABASE_URL: url }, { capture: true });
  expect(status.stdout + status.stderr).toMatch(/Database schema is up to date/);
  expect(status.status).toBe(0);
  const deploy = runPrisma("food", ["migrate", "deploy"], { SERVICE_DATABASE_URL: url }, { capture: true });
  expect(deploy.stdout + deploy.stderr).toMatch(/No pending migrations/);
});

test("a failing migration leaves neither schema changes nor a row, and the next start reports it", async () => {
  const url = databases.urls.broken!;
  const dir = await mkdtemp(join(tmpdir(), "pooya-migrations-"));
  await cp(migrationsOf("users"), dir, { recursive: true });
  await mkdir(join(dir, "29990101000000_broken"));
  await writeFile(
    join(dir, "29990101000000_broken/migration.sql"),
    `CREATE TABLE half_done (id int);\nSELECT * FROM table_that_does_not_exist;`,
  );
  await expect(applyMigrations(url, dir)).rejects.toThrow(/29990101000000_broken failed/);
  const rows = await migrationRows(url);
  expect(rows.map((r) => r.migration_name)).not.toContain("29990101000000_broken");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const table = await client.query(`SELECT to_regclass('half_done') AS t`);
  await client.end();
  expect(table.rows[0].t).toBeNull();
});
