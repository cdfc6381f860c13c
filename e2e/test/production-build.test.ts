// The artifact users deploy is what is tested: `npm run build`'s output — each service bundled to
// JavaScript with exactly the production files it needs — started as separate processes with
// plain `node` and environment variables only, on real Postgres, answering a cross-subgraph query.
import { afterAll, beforeAll, expect, test } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildAll, type BuiltService } from "@pooya/system";
import { PROCESS_ADMIN, startProcesses, type Processes } from "../src/processes.ts";
import { postGraphQL } from "../src/harness.ts";

let outDir: string;
let built: BuiltService[];
let system: Processes;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "pooya-build-"));
  built = await buildAll({ outDir });
  system = await startProcesses({ built: { dir: outDir } });
}, 240_000);

afterAll(async () => {
  await system?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

test("each service's build holds its bundle, its assets and production packages only", async () => {
  for (const service of built) {
    const modules = join(service.dir, "node_modules");
    expect(existsSync(join(service.dir, service.entry)), service.name).toBe(true);
    for (const devOnly of [
      "typescript",
      "vitest",
      "prisma",
      "turbo",
      "esbuild",
      "@electric-sql",
      "fast-check",
      "tsx",
    ]) {
      expect(existsSync(join(modules, devOnly)), `${service.name} carries ${devOnly}`).toBe(false);
    }
    // No TypeScript source travels: the bundle has it all.
    const sources = (await readdir(service.dir, { recursive: true })).filter(
      (f) => String(f).endsWith(".ts") && !String(f).endsWith(".d.ts") && !String(f).includes("node_modules"),
    );
    expect(sources, service.name).toEqual([]);
    expect(service.bytes).toBeLessThan(60 * 1024 * 1024);
  }
  const users = built.find((s) => s.name === "users")!;
  expect(existsSync(join(users.dir, "subgraphs/users/prisma/migrations"))).toBe(true);
  expect(existsSync(join(users.dir, "subgraphs/users/schema.graphql"))).toBe(true);
  const gateway = built.find((s) => s.name === "gateway")!;
  expect(existsSync(join(gateway.dir, "web/dist/index.html"))).toBe(true);
  expect(existsSync(join(gateway.dir, "gateway/trusted-documents.json"))).toBe(true);
});

// The gateway hears domain events live (its cache's invalidation): the NATS core client and the
// feed reader are in its bundle by design; the database, the outbox and JetStream are not.
test("the gateway's bundle carries no database code, no outbox and no JetStream (the NATS core client only)", async () => {
  const gateway = built.find((s) => s.name === "gateway")!;
  const dist = join(gateway.dir, "gateway/dist");
  const code = (
    await Promise.all(
      (await readdir(dist)).filter((f) => f.endsWith(".mjs")).map((f) => readFile(join(dist, f), "utf8")),
    )
  ).join("\n");
  expect(code).toContain("createEdge"); // the bundle was read
  for (const forbidden of [
    "pg",
    "pg-pool",
    "@prisma/client",
    "@prisma/adapter-pg",
    "@prisma/instrumentation",
    "@nats-io/jetstream",
    "kysely",
    "dataloader",
  ]) {
    expect(code, `the gateway bundle imports ${forbidden}`).not.toMatch(
      new RegExp(`(from|import\\()\\s*"${forbidden.replace("/", "\\/")}(/[^"]*)?"`),
    );
  }
  expect(code).toMatch(/(from|import\()\s*"@nats-io\/transport-node"/); // live events: the core client
  for (const folder of ["pg", "@prisma/adapter-pg", "@nats-io/jetstream", "kysely"])
    expect(existsSync(join(gateway.dir, "node_modules", folder)), `the gateway build carries ${folder}`).toBe(false);
});

test("the built gateway serves the built web client at /", async () => {
  const page = await fetch(system.gatewayUrl.replace(/\/graphql$/, "/"));
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<div id="root">');
});

test("started from the build with env only, the federation answers a query across every subgraph", async () => {
  const url = system.gatewayUrl;
  const login = await postGraphQL(url, {
    query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`,
    variables: { e: PROCESS_ADMIN.email, p: PROCESS_ADMIN.password },
  });
  expect(login.errors).toBeUndefined();
  const staff = login.data!.login.accessToken as string;
  const registered = await postGraphQL(url, {
    query: `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`,
    variables: { i: { email: "built@uni.example", password: "a fine password", name: "Built Student" } },
  });
  expect(registered.errors).toBeUndefined();
  const student = registered.data!.register as { accessToken: string; user: { id: string } };
  const teacher = await postGraphQL(url, {
    query: `mutation { createUser(input: { email: "t@uni.example", password: "a fine password", name: "Dr Build", role: TEACHER }) { id } }`,
    token: staff,
  });
  const course = await postGraphQL(url, {
    query: `mutation($t: ID!) { createCourse(input: { code: "BLD101", title: "Shipping", capacity: 5, teacherId: $t }) { id } }`,
    variables: { t: teacher.data!.createUser.id },
    token: staff,
  });
  await postGraphQL(url, {
    query: `mutation($c: ID!) { enroll(courseId: $c) { id } }`,
    variables: { c: course.data!.createCourse.id },
    token: student.accessToken,
  });
  await postGraphQL(url, {
    query: `mutation($u: ID!) { topUpWallet(userId: $u, amount: 900) { balance } }`,
    variables: { u: student.user.id },
    token: staff,
  });
  const deadline = Date.now() + 10_000;
  let me: any;
  do {
    const r = await postGraphQL(url, {
      query: `{ me { name enrolledCourses { code seatsLeft teacher { name } } attendance { status } wallet { balance } unreadNotificationCount } }`,
      token: student.accessToken,
    });
    expect(r.errors).toBeUndefined();
    me = r.data!.me;
  } while (
    me.unreadNotificationCount < 3 &&
    Date.now() < deadline &&
    (await new Promise((resolve) => setTimeout(resolve, 100)), true)
  );
  expect(me).toEqual({
    name: "Built Student",
    enrolledCourses: [{ code: "BLD101", seatsLeft: 4, teacher: { name: "Dr Build" } }],
    attendance: [],
    wallet: { balance: 900 },
    unreadNotificationCount: 3, // welcome, enrolled, top-up: events went through the built services too
  });
});
