// The deployment files agree with the registry and keep their promises: an image and a compose
// service for every service, no secret in an image, credentials that survive any characters.
import { expect, test } from "vitest";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT, SUBGRAPH_NAMES, buildTargets, entryOf, nodeFlagsOf, renderCompose } from "../src/index.ts";

const read = (file: string) => readFile(join(PROJECT_ROOT, file), "utf8");

async function workspaceDirs(): Promise<string[]> {
  const { workspaces } = JSON.parse(await read("package.json")) as { workspaces: string[] };
  const dirs: string[] = [];
  for (const pattern of workspaces) {
    if (!pattern.endsWith("/*")) dirs.push(pattern);
    // As npm reads a glob: the folders that hold a package.json (not node_modules or .turbo).
    else
      for (const entry of await readdir(join(PROJECT_ROOT, pattern.slice(0, -2)))) {
        if (existsSync(join(PROJECT_ROOT, pattern.slice(0, -2), entry, "package.json")))
          dirs.push(`${pattern.slice(0, -2)}/${entry}`);
      }
  }
  return dirs;
}

test("the Dockerfile installs every workspace and has one runtime target for every service, non-root, with a health check", async () => {
  const dockerfile = await read("docker/Dockerfile");
  // Every workspace's manifest is found in the build context (none is listed), so none may be ignored there.
  expect(dockerfile).toContain(
    'find . -name package.json -not -path "*/node_modules/*" -exec cp --parents {} /manifests/',
  );
  expect(dockerfile).toMatch(/\nCOPY --from=manifests \/manifests\/ \.\/\nRUN npm ci /);
  const ignored = (await read(".dockerignore"))
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^[#!]/.test(l));
  const hides = (pattern: string, dir: string) =>
    dir === pattern ||
    dir.startsWith(`${pattern}/`) ||
    (pattern.startsWith("**/") && dir.split("/").includes(pattern.slice(3)));
  for (const dir of await workspaceDirs()) {
    const hidden = ignored.filter((pattern) => hides(pattern, dir));
    expect(hidden, `${dir}/package.json is outside the image's build context`).toEqual([]);
  }
  // No service by name: a new one needs no line here (compose passes its build arguments).
  for (const target of buildTargets()) {
    expect(dockerfile, target.name).not.toMatch(new RegExp(`\\b(AS|build/)${target.name}\\b`));
  }
  const service = dockerfile.slice(dockerfile.indexOf("FROM runtime AS service"));
  expect(service).toMatch(/\nCOPY --from=build \/src\/build\/\$\{SERVICE\} \/app\n/);
  expect(service).toMatch(/\nENV PORT=\$\{PORT\} SERVICE_ENTRY=\$\{ENTRY\}\n/);
  // What the process harness starts too (nodeFlagsOf): tests and the bench run what images run; exec keeps node PID 1.
  for (const target of buildTargets()) {
    expect(service).toContain(
      `\nCMD exec ${["node", "--enable-source-maps", ...nodeFlagsOf(target.name)].join(" ")} "$SERVICE_ENTRY"\n`,
    );
  }
  const runtime = dockerfile.slice(dockerfile.indexOf("AS runtime"));
  expect(runtime).toMatch(/\nUSER node\n/);
  expect(runtime).toMatch(/\nHEALTHCHECK /);
  expect(runtime).not.toMatch(/\nCOPY \. \./); // only build output reaches a service image
});

test(".dockerignore keeps secrets, local data, tests and docs out of every image (the example env file may go in)", async () => {
  const ignored = (await read(".dockerignore"))
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  for (const pattern of [
    ".env",
    ".env.*",
    "!.env.example",
    ".data",
    "**/.data",
    "node_modules",
    "**/node_modules",
    "**/test",
    "docs",
    "build",
    ".git",
  ]) {
    expect(ignored, pattern).toContain(pattern);
  }
});

test("the compose files, their Prometheus configuration and .env.example are what the registry says (npm run compose:generate)", async () => {
  for (const [file, content] of Object.entries(renderCompose())) expect(await read(file), file).toBe(content);
});

test("docker-compose: every service, restarted, health-checked on /readyz, its database by PG* variables (no password inside a URL)", async () => {
  const compose = parse(await read("docker-compose.yml"), { merge: true }) as { services: Record<string, any> };
  for (const name of [...SUBGRAPH_NAMES, "gateway"]) {
    const service = compose.services[name];
    expect(service, name).toBeDefined();
    expect(service.restart, name).toBe("unless-stopped");
    expect(JSON.stringify(service.healthcheck?.test), name).toContain("/readyz");
    expect(service.build?.target, name).toBe("service");
    const target = buildTargets().find((t) => t.name === name)!;
    expect(service.build?.args, name).toMatchObject({ SERVICE: name, ENTRY: entryOf(target) });
    expect(service.environment.PORT, name).toBe(service.build?.args.PORT);
  }
  for (const name of SUBGRAPH_NAMES) {
    const environment = compose.services[name].environment as Record<string, string>;
    expect(environment.PGHOST, name).toBe("postgres");
    expect(environment.PGPASSWORD, name).toBe(`\${${name.toUpperCase()}_DB_PASSWORD}`);
    expect(
      Object.keys(environment).filter((k) => k.endsWith("_DATABASE_URL")),
      name,
    ).toEqual([]);
  }
  const init = await read("docker/postgres/init-service-databases.sh");
  expect(init).toContain("for service in ${SERVICE_DATABASES:?SERVICE_DATABASES is not set}; do");
  expect(compose.services.postgres.environment.SERVICE_DATABASES).toBe(SUBGRAPH_NAMES.join(" "));
  for (const name of SUBGRAPH_NAMES) {
    expect(Object.keys(compose.services.postgres.environment)).toContain(`${name.toUpperCase()}_DB_PASSWORD`);
  }
  const example = await read(".env.example");
  for (const name of SUBGRAPH_NAMES) expect(example).toContain(`${name.toUpperCase()}_DB_PASSWORD=`);
  expect(example).toMatch(/EXPLORER=on/);
});
