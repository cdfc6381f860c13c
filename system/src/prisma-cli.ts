// The Prisma CLI for one service, with the shared prisma.config.ts of the project folder
// (PRISMA_SERVICE picks the service's schema and migrations in subgraphs/<service>/prisma/,
// SERVICE_DATABASE_URL its database).
//
// Prisma's CLI wants its native schema engine, which it downloads on first use. Machines
// without that download (ours) point PRISMA_SCHEMA_ENGINE_BINARY at an offline stand-in kept
// beside the project (see docs/configuration.md#developer-tools). This is developer tooling only; no service runs it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const STAND_IN_ENGINE = resolve(PROJECT_ROOT, "../shared/tools/prisma-schema-engine/schema-engine");
export const PG_ADMIN_URL = process.env.PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export function prismaEnv(service: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // CHECKPOINT_DISABLE: the CLI would otherwise report usage to Prisma's servers. PATH: the
  // schemas' second generator (prisma-kysely) is a command Prisma looks up there.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: [join(PROJECT_ROOT, "node_modules/.bin"), process.env.PATH].filter(Boolean).join(delimiter),
    PRISMA_SERVICE: service,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
    ...extra,
  };
  if (!env.PRISMA_SCHEMA_ENGINE_BINARY && existsSync(STAND_IN_ENGINE))
    env.PRISMA_SCHEMA_ENGINE_BINARY = STAND_IN_ENGINE;
  return env;
}

export function runPrisma(
  service: string,
  args: string[],
  extraEnv: Record<string, string> = {},
  { capture = false, root = PROJECT_ROOT } = {},
) {
  const cli = join(root, "node_modules/prisma/build/index.js");
  return spawnSync(process.execPath, [cli, ...args, "--config", "prisma.config.ts"], {
    cwd: root,
    env: prismaEnv(service, extraEnv),
    stdio: capture ? "pipe" : "inherit",
    encoding: "utf8",
  });
}

/** Fresh databases for the duration of `work` (for `migrate dev` and its shadow), dropped after. */
export async function withScratchDatabases<T>(names: string[], work: (urls: string[]) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  const urls: string[] = [];
  try {
    for (const name of names) {
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.query(`CREATE DATABASE "${name}"`);
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${name}`;
      urls.push(url.toString());
    }
    return await work(urls);
  } finally {
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}
