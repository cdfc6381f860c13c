// The deployment files agree with the registry and keep their promises: an image target and a
// compose service for every service, no secret in an image, credentials that survive any characters.
import { expect, test } from "vitest";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT, SUBGRAPH_NAMES, buildTargets, entryOf, nodeFlagsOf } from "../src/index.ts";

const read = (file: string) => readFile(join(PROJECT_ROOT, file), "utf8");

async function workspaceDirs(): Promise<string[]> {
  const { workspaces } = JSON.parse(await read("package.json")) as { workspaces: string[] };
  const dirs: string[] = [];
  for (const pattern of workspaces) {
    if (!pattern.endsWith("/*")) dirs.push(pattern);
    // As npm reads a glob: the folders that hold a package.json (not node_modules or .turbo).
    else for (const entry of await readdir(join(PROJECT_ROOT, pattern.slice(0, -2)))) {
      if (existsSync(join(PROJECT_ROOT, pattern.slice(0, -2), entry, "package.json"))) dirs.push(`${pattern.slice(0, -2)}/${entry}`);
    }
  }
  return dirs;
}

test("the Dockerfile installs every workspace and has a runtime target per service, non-root, with a health check", async () => {
  const dockerfile = await read("docker/Dockerfile");
  for (const dir of await workspaceDirs()) expect(dockerfile, dir).toContain(`COPY ${dir}/package.json ${dir}/`);
  for (const target of buildTargets()) {
    expect(dockerfile).toMatch(new RegExp(`FROM runtime AS ${target.name}\\nCOPY --from=build /src/build/${target.name} /app\\n`));
    // What the process harness starts too (nodeFlagsOf): tests and the bench run what images run.
    expect(dockerfile).toContain(`CMD ${JSON.stringify(["node", "--enable-source-maps", ...nodeFlagsOf(target.name), entryOf(target)]).replaceAll(",", ", ")}`);
  }
  const runtime = dockerfile.slice(dockerfile.indexOf("AS runtime"));
  expect(runtime).toMatch(/\nUSER node\n/);
  expect(runtime).toMatch(/\nHEALTHCHECK /);
  expect(runtime).not.toMatch(/\nCOPY \. \./); // only build output reaches a service image
});

test(".dockerignore keeps secrets, local data, tests and docs out of every image (the example env file may go in)", async () => {
  const ignored = (await read(".dockerignore")).split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const pattern of [".env", ".env.*", "!.env.example", ".data", "**/.data", "node_modules", "**/node_modules", "**/test", "docs", "build", ".git"]) {
    expect(ignored, pattern).toContain(pattern);
  }
});

test("docker-compose: every service, restarted, health-checked on /readyz, its database by PG* variables (no password inside a URL)", async () => {
  const compose = parse(await read("docker-compose.yml"), { merge: true }) as { services: Record<string, any> };
  for (const name of [...SUBGRAPH_NAMES, "gateway"]) {
    const service = compose.services[name];
    expect(service, name).toBeDefined();
    expect(service.restart, name).toBe("unless-stopped");
    expect(JSON.stringify(service.healthcheck?.test), name).toContain("/readyz");
    expect(service.build?.target, name).toBe(name);
  }
  for (const name of SUBGRAPH_NAMES) {
    const environment = compose.services[name].environment as Record<string, string>;
    expect(environment.PGHOST, name).toBe("postgres");
    expect(environment.PGPASSWORD, name).toBe(`\${${name.toUpperCase()}_DB_PASSWORD}`);
    expect(Object.keys(environment).filter((k) => k.endsWith("_DATABASE_URL")), name).toEqual([]);
  }
  const init = await read("docker/postgres/init-service-databases.sh");
  expect(init).toContain(`for service in ${SUBGRAPH_NAMES.join(" ")}; do`);
  const example = await read(".env.example");
  for (const name of SUBGRAPH_NAMES) expect(example).toContain(`${name.toUpperCase()}_DB_PASSWORD=`);
  expect(example).toMatch(/EXPLORER=on/);
});
