// docker-compose's database layout on real Postgres: each service's role owns its database
// and is refused by every other service's database. Runs the very SQL the Postgres container runs.
import { afterAll, beforeAll, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { exportPrivateJwk, generateSigningKey } from "@pooya/identity";
import { PG_ADMIN_URL, databaseUrl } from "@pooya/system";
import { spawnService, stopProcess, waitUntilReady } from "../src/processes.ts";
import { freePort } from "../src/free-port.ts";

const script = fileURLToPath(new URL("../../docker/postgres/service-database.sql.inc", import.meta.url));
const tag = `t${randomBytes(3).toString("hex")}`;
const services = ["users", "courses", "food"].map((s) => ({ role: `${s}_service_${tag}`, database: `${s}_${tag}` }));
// What `openssl rand -base64` and password managers produce: characters a URL cannot carry as they are.
const HOSTILE_PASSWORD = "ab/cd+ef==#x@y:z%20?&";

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
  for (const [i, s] of services.entries()) {
    const password = i === 2 ? HOSTILE_PASSWORD : "role-password";
    execFileSync(
      "psql",
      [
        PG_ADMIN_URL,
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-v",
        `role=${s.role}`,
        "-v",
        `password=${password}`,
        "-v",
        `database=${s.database}`,
        "-f",
        script,
      ],
      { stdio: "pipe" },
    );
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
  expect(
    await tryQuery(
      urlAs(users!.role, users!.database),
      `CREATE TABLE users (id int); INSERT INTO users VALUES (1); SELECT * FROM users`,
    ),
  ).toBe("ok");
});

test("another service's role is refused by that database", async () => {
  const [users, courses] = services;
  await tryQuery(urlAs(users!.role, users!.database), `CREATE TABLE IF NOT EXISTS users (id int)`);
  const refused = await tryQuery(urlAs(courses!.role, users!.database), `SELECT * FROM users`);
  expect(refused).toMatch(/permission denied for database/);
  expect(await tryQuery(urlAs(users!.role, courses!.database), `SELECT 1`)).toMatch(/permission denied for database/);
});

test("a service started with PGHOST/PGDATABASE/PGUSER/PGPASSWORD (no URL) connects with a password a URL cannot carry as it is, and migrates", async () => {
  const food = services[2]!;
  const admin = new URL(PG_ADMIN_URL);
  const port = await freePort();
  const service = spawnService(
    "food",
    "subgraphs/food/src/main.ts",
    {
      PORT: String(port),
      HOST: "127.0.0.1",
      PGHOST: admin.hostname,
      PGPORT: admin.port || "5432",
      PGDATABASE: food.database,
      PGUSER: food.role,
      PGPASSWORD: HOSTILE_PASSWORD,
      USERS_URL: "http://127.0.0.1:9",
      NOTIFICATIONS_URL: "http://127.0.0.1:9",
      GATEWAY_JWKS_URL: "http://127.0.0.1:9/.well-known/jwks.json",
      FOOD_SERVICE_SIGNING_KEYS: JSON.stringify([await exportPrivateJwk(await generateSigningKey())]),
    },
    port,
  );
  try {
    await waitUntilReady(service);
    expect(service.output).toContain("migration applied");
    expect(service.output).not.toContain(HOSTILE_PASSWORD);
  } finally {
    await stopProcess(service);
  }
});

test("with neither a URL nor the PG* variables, the service says which to set", async () => {
  const port = await freePort();
  const service = spawnService(
    "courses",
    "subgraphs/courses/src/main.ts",
    {
      PORT: String(port),
      GATEWAY_JWKS_URL: "http://127.0.0.1:9/x",
      USERS_URL: "http://127.0.0.1:9",
      ATTENDANCE_URL: "http://127.0.0.1:9",
      NOTIFICATIONS_URL: "http://127.0.0.1:9",
    },
    port,
  );
  expect(await service.exited).toBe(1);
  expect(service.output).toMatch(/COURSES_DATABASE_URL: set it, or PGHOST, PGDATABASE and PGUSER/);
});
