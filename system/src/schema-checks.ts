// The schema checks CI runs (npm run schema:check). Each takes the repository root, so tests
// can run them on a copy with a planted defect.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, relative } from "node:path";
import { Kind, buildSchema, lexicographicSortSchema, parse, printSchema, validate, type GraphQLSchema } from "graphql";
import { diff, CriticalityLevel, type Change } from "@graphql-inspector/core";
import pg from "pg";
import { composeSupergraph } from "@pooya/gateway";
import { readSubgraphSchemas } from "./subgraph-schemas.ts";
import { PG_ADMIN_URL, prismaEnv } from "./prisma-cli.ts";
import { operationFiles } from "./operations.ts";

export interface CheckResult {
  name: string;
  ok: boolean;
  problems: string[];
  notes?: string[];
}

export const BASELINE_FILE = "gateway/api-baseline.graphql";
export const ACKNOWLEDGED_FILE = "gateway/acknowledged-changes.json";
export const SUPERGRAPH_FILE = "gateway/supergraph.graphql";
/** The public API schema for frontend tooling (npm run schema:print). */
export const PUBLIC_SCHEMA_FILE = "schema.graphql";
/** Where client operations live: the examples and scripts' operations, and the web client's. */
export const CLIENT_OPERATION_DIRS = ["operations", "web/src"];

function compose(root: string) {
  return composeSupergraph(readSubgraphSchemas(root));
}

/** 1. The subgraphs compose into a supergraph. */
export function checkComposition(root: string): CheckResult {
  const result = compose(root);
  return result.ok
    ? { name: "composition", ok: true, problems: [], notes: result.hints }
    : { name: "composition", ok: false, problems: result.errors };
}

/** 2. The committed supergraph.graphql is what the subgraphs compose to. */
export async function checkSupergraphDrift(root: string): Promise<CheckResult> {
  const result = compose(root);
  if (!result.ok)
    return { name: "supergraph drift", ok: false, problems: ["the subgraphs do not compose (see composition)"] };
  const committed = readFileSync(join(root, SUPERGRAPH_FILE), "utf8");
  if (committed.trim() === result.supergraphSdl.trim()) return { name: "supergraph drift", ok: true, problems: [] };
  const changes = await diff(
    buildSchema(committed, { assumeValidSDL: true }),
    buildSchema(result.supergraphSdl, { assumeValidSDL: true }),
  );
  return {
    name: "supergraph drift",
    ok: false,
    problems: [
      `${SUPERGRAPH_FILE} is not what the subgraphs compose to; run \`npm run compose\` and commit it`,
      ...changes.map((c) => `  ${c.path ?? ""}: ${c.message}`),
    ],
  };
}

/** 3. Each service's schema.prisma matches its committed migrations. */
export async function checkPrismaMigrations(root: string, adminUrl = PG_ADMIN_URL): Promise<CheckResult> {
  const problems: string[] = [];
  const services = readdirSync(join(root, "subgraphs"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, "subgraphs", d.name, "prisma", "schema.prisma")))
    .map((d) => d.name);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (const service of services) {
      const shadow = `pooya_drift_${service}_${process.pid}_${Date.now().toString(36)}`;
      await admin.query(`CREATE DATABASE "${shadow}"`);
      try {
        const url = new URL(adminUrl);
        url.pathname = `/${shadow}`;
        const cli = join(root, "node_modules/prisma/build/index.js");
        const run = spawnSync(
          process.execPath,
          [
            cli,
            "migrate",
            "diff",
            "--from-migrations",
            `subgraphs/${service}/prisma/migrations`,
            "--to-schema",
            `subgraphs/${service}/prisma/schema.prisma`,
            "--script",
            "--exit-code",
            "--config",
            "prisma.config.ts",
          ],
          {
            cwd: root,
            env: prismaEnv(service, { SERVICE_DATABASE_URL: url.toString(), SHADOW_DATABASE_URL: url.toString() }),
            encoding: "utf8",
          },
        );
        if (run.status === 2) {
          const statements = run.stdout.split("\n").filter((l) => l.trim() && !l.startsWith("--"));
          problems.push(
            `[${service}] subgraphs/${service}/prisma/schema.prisma differs from its migrations; create one with \`npm run migrate:dev -- ${service} <name>\`. Missing SQL:`,
            ...statements.map((l) => `    ${l}`),
          );
        } else if (run.status !== 0) {
          problems.push(
            `[${service}] prisma migrate diff failed: ${(run.stderr || run.stdout).trim().split("\n").slice(-3).join(" ")}`,
          );
        }
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS "${shadow}" WITH (FORCE)`);
      }
    }
  } finally {
    await admin.end();
  }
  return { name: "prisma schema vs migrations", ok: problems.length === 0, problems };
}

export interface Acknowledgement {
  path: string;
  type: string;
  reason: string;
}

export function apiSchemaOf(root: string): GraphQLSchema {
  const result = compose(root);
  if (!result.ok) throw new Error("the subgraphs do not compose");
  return result.apiSchema;
}

/** The public API schema as schema:print writes it. */
export function printApiSchema(root: string): string {
  return printSchema(lexicographicSortSchema(apiSchemaOf(root))) + "\n";
}

export async function apiChanges(root: string): Promise<Change[]> {
  const baseline = buildSchema(readFileSync(join(root, BASELINE_FILE), "utf8"));
  return diff(baseline, apiSchemaOf(root));
}

/** 4. No breaking change against the released baseline, unless acknowledged with a reason. */
export async function checkBreakingChanges(root: string): Promise<CheckResult> {
  if (!compose(root).ok)
    return { name: "breaking changes", ok: false, problems: ["the subgraphs do not compose (see composition)"] };
  const acknowledged: Acknowledgement[] = existsSync(join(root, ACKNOWLEDGED_FILE))
    ? JSON.parse(readFileSync(join(root, ACKNOWLEDGED_FILE), "utf8"))
    : [];
  const problems: string[] = [];
  for (const ack of acknowledged)
    if (!ack.reason?.trim()) problems.push(`${ACKNOWLEDGED_FILE}: ${ack.type} at ${ack.path} needs a reason`);
  const breaking = (await apiChanges(root)).filter((c) => c.criticality.level === CriticalityLevel.Breaking);
  for (const change of breaking) {
    if (acknowledged.some((a) => a.path === change.path && a.type === change.type && a.reason?.trim())) continue;
    problems.push(
      `BREAKING ${change.type} at ${change.path}: ${change.message} (${change.criticality.reason ?? "clients using it will fail"})`,
    );
  }
  if (breaking.length && problems.length) {
    problems.push(
      `Deprecate first (@deprecated), or, if the break is intended, acknowledge it in ${ACKNOWLEDGED_FILE} as { "path", "type", "reason" }.`,
    );
  }
  return { name: "breaking changes", ok: problems.length === 0, problems };
}

/** 5. Every client operation (operations/, web/src/) validates against the supergraph's API schema. */
export function checkOperations(root: string): CheckResult {
  const result = compose(root);
  if (!result.ok)
    return { name: "client operations", ok: false, problems: ["the subgraphs do not compose (see composition)"] };
  const problems: string[] = [];
  const files = CLIENT_OPERATION_DIRS.filter((dir) => existsSync(join(root, dir))).flatMap((dir) =>
    operationFiles(join(root, dir)),
  );
  for (const file of files) {
    let document;
    try {
      document = parse(readFileSync(file, "utf8"));
    } catch (error) {
      problems.push(`${relative(root, file)}: does not parse: ${(error as Error).message}`);
      continue;
    }
    // Each error names the operation it breaks, so a schema change tells who it breaks.
    const operations = document.definitions.flatMap((d) =>
      d.kind === Kind.OPERATION_DEFINITION && d.loc
        ? [{ name: d.name?.value ?? "(anonymous)", start: d.loc.start, end: d.loc.end }]
        : [],
    );
    for (const error of validate(result.apiSchema, document)) {
      const line = error.locations?.[0]?.line;
      const at = error.nodes?.[0]?.loc?.start;
      const operation = at === undefined ? undefined : operations.find((o) => at >= o.start && at < o.end);
      problems.push(
        `${relative(root, file)}${line ? `:${line}` : ""}${operation ? ` (operation ${operation.name})` : ""}: ${error.message}`,
      );
    }
  }
  return { name: "client operations", ok: problems.length === 0, problems, notes: [`${files.length} files checked`] };
}

/** 6. The committed schema.graphql is the API schema the gateway serves. */
export function checkPublicSchemaFile(root: string): CheckResult {
  const name = "public schema file";
  if (!compose(root).ok) return { name, ok: false, problems: ["the subgraphs do not compose (see composition)"] };
  const path = join(root, PUBLIC_SCHEMA_FILE);
  const current = existsSync(path) ? readFileSync(path, "utf8") : "";
  return current === printApiSchema(root)
    ? { name, ok: true, problems: [] }
    : {
        name,
        ok: false,
        problems: [
          `${PUBLIC_SCHEMA_FILE} is not the API schema the subgraphs compose to; run \`npm run schema:print\` and commit it`,
        ],
      };
}

/** Every check runs, whatever another one does: one that cannot run (no Postgres) fails alone. */
export async function runAllChecks(root: string, { adminUrl = PG_ADMIN_URL } = {}): Promise<CheckResult[]> {
  const checks: [string, () => CheckResult | Promise<CheckResult>][] = [
    ["composition", () => checkComposition(root)],
    ["supergraph drift", () => checkSupergraphDrift(root)],
    ["prisma schema vs migrations", () => checkPrismaMigrations(root, adminUrl)],
    ["breaking changes", () => checkBreakingChanges(root)],
    ["client operations", () => checkOperations(root)],
    ["public schema file", () => checkPublicSchemaFile(root)],
  ];
  const results: CheckResult[] = [];
  for (const [name, check] of checks) {
    try {
      results.push(await check());
    } catch (error) {
      results.push({ name, ok: false, problems: [`could not run: ${(error as Error).message}`] });
    }
  }
  return results;
}
