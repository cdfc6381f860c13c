#!/usr/bin/env node
// Runs the Prisma CLI for every service (or one) with the shared prisma/prisma.config.ts.
//   node scripts/prisma.mjs generate [service]
//   node scripts/prisma.mjs migrate-dev <service> <name>   (needs a Postgres server, see PG_ADMIN_URL)
//   node scripts/prisma.mjs <service> <prisma args…>       (anything else, e.g. "users migrate status")
//
// Prisma's CLI wants its native schema engine, which it downloads on first use. Machines
// without that download (ours) use the offline stand-in beside the repo, see
// ../shared/tools/prisma-schema-engine. This is developer tooling only; no service runs it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const SERVICES = ["users", "courses", "attendance", "food"];

export function prismaEnv(service, extra = {}) {
  // CHECKPOINT_DISABLE: the CLI would otherwise report usage to Prisma's servers.
  const env = { ...process.env, PRISMA_SERVICE: service, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1", ...extra };
  const standIn = resolve(root, "../shared/tools/prisma-schema-engine/schema-engine");
  if (!env.PRISMA_SCHEMA_ENGINE_BINARY && existsSync(standIn)) env.PRISMA_SCHEMA_ENGINE_BINARY = standIn;
  return env;
}

export function runPrisma(service, args, extraEnv = {}, { capture = false } = {}) {
  const cli = join(root, "node_modules/prisma/build/index.js");
  const result = spawnSync(process.execPath, [cli, ...args, "--config", "prisma.config.ts"], {
    cwd: join(root, "prisma"),
    env: prismaEnv(service, extraEnv),
    stdio: capture ? "pipe" : "inherit",
    encoding: "utf8",
  });
  return result;
}

async function withScratchDatabases(names, fn) {
  const adminUrl = process.env.PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const urls = [];
  try {
    for (const name of names) {
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.query(`CREATE DATABASE "${name}"`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      urls.push(url.toString());
    }
    return await fn(urls);
  } finally {
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (command === "generate") {
    for (const service of rest.length ? rest : SERVICES) {
      const r = runPrisma(service, ["generate"], {}, { capture: true });
      if (r.status !== 0) {
        process.stderr.write(r.stdout + r.stderr);
        process.exit(r.status ?? 1);
      }
      console.log(`prisma client generated for ${service}`);
    }
    return;
  }
  if (command === "migrate-dev") {
    const [service, name] = rest;
    if (!SERVICES.includes(service) || !name) throw new Error("usage: migrate-dev <service> <name>");
    const tag = `pooya_migrate_dev_${process.pid}`;
    const status = await withScratchDatabases([tag, `${tag}_shadow`], async ([url, shadow]) =>
      runPrisma(service, ["migrate", "dev", "--name", name], { SERVICE_DATABASE_URL: url, SHADOW_DATABASE_URL: shadow }).status,
    );
    process.exit(status ?? 1);
  }
  if (SERVICES.includes(command)) {
    process.exit(runPrisma(command, rest).status ?? 1);
  }
  console.error("usage: prisma.mjs generate [service] | migrate-dev <service> <name> | <service> <prisma args…>");
  process.exit(64);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
