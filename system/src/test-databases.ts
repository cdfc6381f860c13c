// Fresh, uniquely named Postgres databases for one test file (or a benchmark); dropped again at the end.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { PG_ADMIN_URL } from "./prisma-cli.ts";

export function databaseUrl(name: string, base = PG_ADMIN_URL): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createDatabases(services: readonly string[]) {
  const run = `pooya_t_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  const names = services.map((s) => `${run}_${s}`);
  try {
    for (const name of names) await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const urls = Object.fromEntries(services.map((s, i) => [s, databaseUrl(names[i]!)]));
  return {
    urls,
    async drop() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      try {
        for (const name of names) {
          // Let closing pools finish saying goodbye first: FORCE would kill a backend that is
          // still ending, and its client would emit an error nobody listens to any more.
          for (let i = 0; i < 30; i++) {
            const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1", [
              name,
            ]);
            if (rows[0].n === 0) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        }
      } finally {
        await client.end();
      }
    },
  };
}
