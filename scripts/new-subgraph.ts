// npm run new:subgraph -- <name> [--port <n>] [--owner <@org/team>] [--no-install]
// Scaffolds a working subgraph from scripts/templates/subgraph/: one entity (<Name>Item, keyed by
// id, created by a User), a paged query, a create mutation for signed-in users, its Prisma schema
// and first migration, a test of the subgraph alone (createTenv), and its registry entry. Then it links the
// workspace (npm install), generates the clients and resolver types, and regenerates everything
// derived from the registry (supergraph, schema.graphql, compose, Kubernetes, CODEOWNERS, docs).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { PLATFORM_OWNERS, PROJECT_ROOT, SUBGRAPHS, GATEWAY } from "@pooya/system";

const TEMPLATES = join(import.meta.dirname, "templates", "subgraph");
const REGISTRY = join(PROJECT_ROOT, "system", "src", "registry.ts");
const SYSTEM_PACKAGE = join(PROJECT_ROOT, "system", "package.json");
/** Names that would collide with a workspace, a generated file or a GraphQL/SQL word. */
const RESERVED_NAMES = new Set(
  (
    "gateway system web e2e platform shared scripts prisma docs deploy docker operations bench patches node npm " +
    "graphql schema query mutation subscription type input enum scalar union interface user users admin " +
    "test tests metrics health ready internal events outbox inbox public default table select"
  ).split(" "),
);

function fail(message: string): never {
  console.error(`new:subgraph: ${message}`);
  process.exit(64);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: "string" },
    owner: { type: "string" },
    "no-install": { type: "boolean", default: false },
  },
});
if (positionals.length !== 1)
  fail("usage: npm run new:subgraph -- <name> [--port <n>] [--owner <@org/team>] [--no-install]");
const name = positionals[0]!;
if (!/^[a-z]{2,30}$/.test(name)) fail(`the name must be 2 to 30 lowercase letters (a-z), not "${name}"`);
if (RESERVED_NAMES.has(name)) fail(`"${name}" is a reserved word; pick another name`);
const taken = SUBGRAPHS.map((s) => s.name as string);
if (taken.includes(name)) fail(`a subgraph named ${name} is already in the registry`);
if (existsSync(join(PROJECT_ROOT, "subgraphs", name))) fail(`subgraphs/${name} already exists`);

const usedPorts = [GATEWAY.defaultPort, ...SUBGRAPHS.map((s) => s.defaultPort)];
const port = values.port === undefined ? Math.max(...usedPorts) + 1 : Number(values.port);
if (!Number.isInteger(port) || port < 1024 || port > 65535) fail(`--port must be a number from 1024 to 65535`);
if (usedPorts.includes(port)) fail(`port ${port} is already some service's default port`);
const owner = values.owner ?? PLATFORM_OWNERS;
if (!/^@[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(owner)) fail(`--owner must be a team like @org/team`);

const Name = name[0]!.toUpperCase() + name.slice(1);
const fill = (text: string) =>
  text.replaceAll("{{name}}", name).replaceAll("{{Name}}", Name).replaceAll("{{port}}", String(port));

function* templateFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* templateFiles(path);
    else if (entry.endsWith(".tmpl")) yield path;
  }
}

/** Where a template goes: <path>.tmpl → subgraphs/<name>/<path> (the template folder is the subgraph's folder). */
function target(template: string): string {
  const path = relative(TEMPLATES, template).slice(0, -".tmpl".length).split("/");
  if (path.join("/") === "test/test.ts") return join("subgraphs", name, "test", `${name}.test.ts`);
  if (path.slice(0, 3).join("/") === "prisma/migrations/init") {
    // Prisma orders migrations by their folder name: a timestamp, as `prisma migrate dev` names them.
    const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
    return join("subgraphs", name, "prisma", "migrations", `${stamp}_init`, ...path.slice(3));
  }
  return join("subgraphs", name, ...path);
}

const written: string[] = [];
for (const template of templateFiles(TEMPLATES)) {
  const file = target(template);
  mkdirSync(dirname(join(PROJECT_ROOT, file)), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, file), fill(readFileSync(template, "utf8")));
  written.push(file);
}

// The registry: the import, the SUBGRAPHS entry and its owning team.
const service = `${name}Service`;
let registry = readFileSync(REGISTRY, "utf8");
const imports = [...registry.matchAll(/^import \{ \w+Service \} from "@pooya\/[\w-]+";\n/gm)];
const lastImport = imports.at(-1);
if (!lastImport) fail(`no service import found in ${relative(PROJECT_ROOT, REGISTRY)}`);
const afterImports = lastImport.index + lastImport[0].length;
registry =
  registry.slice(0, afterImports) + `import { ${service} } from "@pooya/${name}";\n` + registry.slice(afterImports);
const list = /export const SUBGRAPHS = \[([^\]]*)\] as const;/.exec(registry);
if (!list) fail("no `export const SUBGRAPHS = [...] as const;` in the registry");
const entries = list[1]!
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
registry = registry.replace(list[0], `export const SUBGRAPHS = [${[...entries, service].join(", ")}] as const;`);
const owners = /(export const SUBGRAPH_OWNERS: Record<SubgraphName, string> = \{\n[^}]*?)(\n\};)/.exec(registry);
if (!owners) fail("no `export const SUBGRAPH_OWNERS … = { … };` in the registry");
registry = registry.replace(owners[0], `${owners[1]}\n  ${name}: "${owner}",${owners[2]}`);
writeFileSync(REGISTRY, registry);

// @pooya/system imports the registry's packages: its package.json names the new one.
const systemPackage = JSON.parse(readFileSync(SYSTEM_PACKAGE, "utf8")) as { dependencies: Record<string, string> };
systemPackage.dependencies[`@pooya/${name}`] = "*";
systemPackage.dependencies = Object.fromEntries(
  Object.entries(systemPackage.dependencies).sort(([a], [b]) => a.localeCompare(b)),
);
writeFileSync(SYSTEM_PACKAGE, JSON.stringify(systemPackage, null, 2) + "\n");

const run = (command: string, args: string[]) => {
  console.log(`\n$ ${command} ${args.join(" ")}`);
  execFileSync(command, args, { cwd: PROJECT_ROOT, stdio: "inherit" });
};
// Its own style, then the registry's (a longer SUBGRAPHS line is wrapped as prettier wraps it).
run("npx", ["prettier", "--log-level", "warn", "--write", join("subgraphs", name), relative(PROJECT_ROOT, REGISTRY)]);
if (!values["no-install"]) {
  // Links the new workspace (node_modules/@pooya/<name>); its postinstall runs `npm run generate`.
  run("npm", ["install", "--no-audit", "--no-fund"]);
} else {
  run("npm", ["run", "--silent", "generate"]);
}
run("npm", ["run", "--silent", "registry:generate"]);
run("npm", ["run", "--silent", "schema:print"]);

let changed: string[];
try {
  changed = execFileSync("git", ["status", "--porcelain", "--untracked-files=all"], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  })
    .split("\n")
    .filter(Boolean)
    .map((line) => line.slice(3))
    .filter((file) => !file.startsWith(`subgraphs/${name}/`));
} catch {
  changed = ["(not a git checkout: see what changed with your own tools)"];
}
console.log(`
Scaffolded the ${name} subgraph (port ${port}, owned by ${owner}):
  subgraphs/${name}/ (${written.length} files, its Prisma schema and first migration in subgraphs/${name}/prisma/)
Changed outside it (the registry entry and what is derived from it):
${changed.map((file) => `  ${file}`).join("\n")}
Next: npm run typecheck, npx vitest run subgraphs/${name}/test, npm start (it serves ${Name}Item through the gateway).`);
