// npm run check:scaffold (CI): `npm run new:subgraph` still makes a working subgraph. In a throw-away
// copy of the project (the tracked files as they are on disk, node_modules copied, not
// reinstalled) it scaffolds `scaffoldcheck`, runs the schema checks (composition, Prisma schema vs
// its migration, no breaking change), starts the whole system as `npm start` does (on fresh
// databases of the machine's Postgres, PG_ADMIN_URL), registers a user through the gateway,
// creates and lists an item of the new subgraph there, stops everything and deletes the copy
// and the databases — on failure too. One line at the end says how it went and how long each step took.
// SCAFFOLD_CHECK_KEEP=1 keeps the copy (its path is printed) to look into a failure.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PROJECT_ROOT, SUBGRAPH_NAMES, createDatabases } from "@pooya/system";

const NAME = "scaffoldcheck";
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;

const timings: [string, number][] = [];
const began = Date.now();
async function timed<T>(step: string, work: () => T | Promise<T>): Promise<T> {
  const since = Date.now();
  console.log(`\n==> ${step}`);
  try {
    return await work();
  } finally {
    timings.push([step, Date.now() - since]);
  }
}
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs a command in `cwd`; its output goes to ours; throws if it fails. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync(command, args, { cwd, env, stdio: "inherit" });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The copy: the tracked files as they are now, and every node_modules folder (their links stay inside the copy). */
function copyProject(to: string) {
  const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  const files = listed.stdout.split("\0").filter((file) => file && existsSync(join(PROJECT_ROOT, file)));
  const list = join(to, ".scaffold-check-files");
  writeFileSync(list, files.join("\0"));
  run("bash", ["-c", `tar --null -T "$1" -cf - | tar -xf - -C "$2"`, "copy", list, to], PROJECT_ROOT);
  rmSync(list);
  const found = spawnSync(
    "find",
    [".", "-name", "node_modules", "-prune", "-not", "-path", "./node_modules/*", "-not", "-path", "./.data/*"],
    { cwd: PROJECT_ROOT, encoding: "utf8" },
  );
  for (const folder of found.stdout.split("\n").filter(Boolean))
    run("cp", ["-a", folder, join(to, folder, "..")], PROJECT_ROOT);
  // A repository of its own, so the scaffold can say what it changed (git status).
  run(
    "bash",
    ["-c", "git init -q && git add -A && git -c user.name=ci -c user.email=ci@pooya.test commit -qm copy"],
    to,
  );
  // The web client is not what this checks: its current build is reused, not rebuilt (npm start
  // rebuilds web/dist when its sources are newer than the stamp, and the scaffold regenerates web/src/gql).
  if (existsSync(join(PROJECT_ROOT, "web", "dist"))) run("cp", ["-a", "web/dist", join(to, "web")], PROJECT_ROOT);
}

async function graphql(url: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answers are checked field by field below
  const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`${query.split("(")[0]}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Starts `npm start`'s process in the copy; resolves once it says the system is up. */
function startSystem(copy: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // Its own process group: a stop that hangs is ended with everything it started.
    const child = spawn(process.execPath, ["scripts/start.ts"], { cwd: copy, env, detached: true });
    let output = "";
    const timer = setTimeout(() => {
      reject(new Error(`npm start was not up within ${seconds(START_TIMEOUT_MS)}:\n${output}`));
    }, START_TIMEOUT_MS);
    const listen = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Pooya Federation is up")) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on("data", listen);
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      process.stderr.write(chunk);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code ?? signal}) before it was up:\n${output}`));
    });
  });
}

async function stopSystem(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => {
    console.error(`npm start did not stop within ${seconds(STOP_TIMEOUT_MS)}: killing its process group`);
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }, STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

// The schema engine stand-in is found from the project folder (system/src/prisma-cli.ts): the copy is elsewhere.
const engine = resolve(PROJECT_ROOT, "../shared/tools/prisma-schema-engine/schema-engine");
if (!process.env.PRISMA_SCHEMA_ENGINE_BINARY && existsSync(engine)) process.env.PRISMA_SCHEMA_ENGINE_BINARY = engine;

const copy = mkdtempSync(join(tmpdir(), "pooya-scaffold-check-"));
let databases: Awaited<ReturnType<typeof createDatabases>> | undefined;
let system: ChildProcess | undefined;
let failure: unknown;
const interrupted = () => {
  failure ??= new Error("interrupted");
  if (system?.pid) process.kill(-system.pid, "SIGKILL");
};
process.once("SIGINT", interrupted);
process.once("SIGTERM", interrupted);

try {
  await timed("copy the project", () => copyProject(copy));
  await timed(`npm run new:subgraph -- ${NAME}`, () =>
    run("npm", ["run", "--silent", "new:subgraph", "--", NAME], copy),
  );
  await timed("npm run schema:check", () => run("npm", ["run", "--silent", "schema:check"], copy));
  // The stamp of the reused web build is newer than the regenerated sources.
  if (existsSync(join(copy, "web", "dist", ".built")))
    utimesSync(join(copy, "web", "dist", ".built"), new Date(), new Date());

  const services = [...SUBGRAPH_NAMES, NAME];
  databases = await timed("fresh databases", () => createDatabases(services));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: "127.0.0.1",
    PORT: String(await freePort()),
    POOYA_DATA_DIR: join(copy, ".data"),
    POOYA_SEED: "false",
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
  };
  for (const name of services) {
    env[`${name.toUpperCase()}_PORT`] = String(await freePort());
    env[`${name.toUpperCase()}_DATABASE_URL`] = databases.urls[name];
  }
  system = await timed("npm start (until up)", () => startSystem(copy, env));

  await timed("through the gateway: register, create, list", async () => {
    const url = `http://127.0.0.1:${env.PORT}/graphql`;
    const { register } = await graphql(
      url,
      `
        mutation ($i: RegisterInput!) {
          register(input: $i) {
            accessToken
            user {
              id
            }
          }
        }
      `,
      { i: { email: `scaffold-${Date.now()}@pooya.test`, password: "a fine password", name: "Scaffold Check" } },
    );
    const { createScaffoldcheckItem: created } = await graphql(
      url,
      `
        mutation ($i: CreateScaffoldcheckItemInput!) {
          createScaffoldcheckItem(input: $i) {
            id
            title
            createdBy {
              id
            }
          }
        }
      `,
      { i: { title: "  made by the scaffold check  " } },
      register.accessToken,
    );
    if (created.title !== "made by the scaffold check" || created.createdBy.id !== register.user.id)
      throw new Error(`createScaffoldcheckItem answered ${JSON.stringify(created)}`);
    const { scaffoldcheckItems: listed } = await graphql(
      url,
      `
        {
          scaffoldcheckItems(first: 5) {
            totalCount
            edges {
              node {
                id
                title
              }
            }
          }
        }
      `,
      {},
      register.accessToken,
    );
    if (listed.totalCount !== 1 || listed.edges[0]?.node.id !== created.id)
      throw new Error(`scaffoldcheckItems answered ${JSON.stringify(listed)}`);
    console.log(`created and listed ScaffoldcheckItem ${created.id}`);
  });
} catch (error) {
  failure ??= error;
} finally {
  if (system) await timed("stop", () => stopSystem(system!)).catch((error) => (failure ??= error));
  await timed("clean up", async () => {
    await databases?.drop().catch((error) => (failure ??= error));
    if (process.env.SCAFFOLD_CHECK_KEEP) console.log(`kept the copy: ${copy}`);
    else rmSync(copy, { recursive: true, force: true });
  });
}

const steps = timings.map(([step, ms]) => `${step} ${seconds(ms)}`).join(", ");
if (failure) {
  console.error(`\n${(failure as Error).stack ?? String(failure)}`);
  console.log(`scaffold check FAILED after ${seconds(Date.now() - began)} (${steps})`);
  process.exit(1);
}
console.log(`scaffold check passed in ${seconds(Date.now() - began)} (${steps})`);
