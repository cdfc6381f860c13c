// docker-compose's database layout on real Postgres: each service's role owns its database
// and is refused by every other service's database. Runs the very SQL the Postgres container runs.
import { afterAll, beforeAll, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { PG_ADMIN_URL, databaseUrl } from "@pooya/system";

const script = fileURLToPath(new URL("../../docker/postgres/service-database.sql.inc", import.meta.url));
const tag = `t${randomBytes(3).toString("hex")}`;
const services = ["users", "courses"].map((s) => ({ role: `${s}_service_${tag}`, database: `${s}_${tag}` }));

function urlAs(role: string, database: string): string {
  const url = new URL(databaseUrl(database));
  url.username = role;
  url.password = "role-password";
  return url.toString();
}

async function tryQuery(url: string, sql: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query(sql);
    return "ok";
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

beforeAll(() => {
  for (const s of services) {
    execFileSync("psql", [PG_ADMIN_URL, "-q", "-v", "ON_ERROR_STOP=1", "-v", `role=${s.role}`, "-v", "password=role-password", "-v", `database=${s.database}`, "-f", script], { stdio: "pipe" });
  }
});

afterAll(async () => {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  for (const s of services) {
    await admin.query(`DROP DATABASE IF EXISTS "${s.database}" WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS "${s.role}"`);
  }
  await admin.end();
});

test("a service's role owns its database: it can migrate and use it", async () => {
  const [users] = services;
  expect(await tryQuery(urlAs(users!.role, users!.database), `CREATE TABLE users (id int); INSERT INTO users VALUES (1); SELECT * FROM users`)).toBe("ok");
});

test("another service's role is refused by that database", async () => {
  const [users, courses] = services;
  await tryQuery(urlAs(users!.role, users!.database), `CREATE TABLE IF NOT EXISTS users (id int)`);
  const refused = await tryQuery(urlAs(courses!.role, users!.database), `SELECT * FROM users`);
  expect(refused).toMatch(/permission denied for database/);
  expect(await tryQuery(urlAs(users!.role, courses!.database), `SELECT 1`)).toMatch(/permission denied for database/);
});
