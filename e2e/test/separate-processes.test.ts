// The production topology without Docker: the gateway and each subgraph as its own process,
// started from its main.ts with only environment variables — what each container runs.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDatabases } from "../src/databases.ts";
import { freePort } from "../src/free-port.ts";
import { postGraphQL } from "../src/harness.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
// As the containers run it: node itself with tsx as a loader, so signals reach our handlers directly.
const nodeArgs = (entry: string) => ["--import", "tsx", entry];
const children: { name: string; process: ChildProcess; log: string }[] = [];
let databases: Awaited<ReturnType<typeof createDatabases>>;
let dataDir: string;
let gatewayUrl: string;

beforeAll(async () => {
  databases = await createDatabases(["users", "courses", "attendance", "food"]);
  dataDir = await mkdtemp(join(tmpdir(), "pooya-processes-"));
  const port = { gateway: await freePort(), users: await freePort(), courses: await freePort(), attendance: await freePort(), food: await freePort() };
  const url = (p: number) => `http://127.0.0.1:${p}`;
  const shared = {
    PATH: process.env.PATH ?? "",
    HOST: "127.0.0.1",
    POOYA_SERVICE_SECRET: randomBytes(32).toString("hex"),
    GATEWAY_JWKS_URL: `${url(port.gateway)}/.well-known/jwks.json`,
    POOYA_DATA_DIR: dataDir,
  };
  const specs: [string, string, Record<string, string>][] = [
    ["users", "subgraphs/users/src/main.ts", { PORT: String(port.users), USERS_DATABASE_URL: databases.urls.users!, POOYA_ADMIN_EMAIL: "root@uni.example", POOYA_ADMIN_PASSWORD: "root password 1" }],
    ["courses", "subgraphs/courses/src/main.ts", { PORT: String(port.courses), COURSES_DATABASE_URL: databases.urls.courses!, USERS_URL: url(port.users) }],
    ["attendance", "subgraphs/attendance/src/main.ts", { PORT: String(port.attendance), ATTENDANCE_DATABASE_URL: databases.urls.attendance!, COURSES_URL: url(port.courses) }],
    ["food", "subgraphs/food/src/main.ts", { PORT: String(port.food), FOOD_DATABASE_URL: databases.urls.food!, USERS_URL: url(port.users) }],
    ["gateway", "gateway/src/main.ts", { PORT: String(port.gateway), USERS_URL: url(port.users), COURSES_URL: url(port.courses), ATTENDANCE_URL: url(port.attendance), FOOD_URL: url(port.food) }],
  ];
  for (const [name, entry, env] of specs) {
    const child = { name, process: spawn(process.execPath, nodeArgs(entry), { cwd: repoRoot, env: { ...shared, ...env }, stdio: ["ignore", "pipe", "pipe"] }), log: "" };
    child.process.stdout!.on("data", (c) => (child.log += c));
    child.process.stderr!.on("data", (c) => (child.log += c));
    children.push(child);
  }
  gatewayUrl = `${url(port.gateway)}/graphql`;
  for (const [name, p] of Object.entries(port)) {
    await vi.waitFor(async () => {
      const ready = await fetch(`${url(p)}/readyz`).catch(() => null);
      expect(ready?.status, `${name} not ready:\n${children.find((c) => c.name === name)?.log}`).toBe(200);
    }, { timeout: 30_000, interval: 200 });
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(children.map((c) => new Promise((resolve) => {
    if (c.process.exitCode !== null) return resolve(null);
    c.process.once("exit", resolve);
    c.process.kill("SIGTERM");
  })));
  await databases?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

test("five processes configured by environment alone serve the contract together", async () => {
  const login = await postGraphQL(gatewayUrl, { query: `mutation { login(email: "root@uni.example", password: "root password 1") { accessToken } }` });
  const token = login.data?.login.accessToken as string;
  expect(token).toBeTruthy();
  const teacher = await postGraphQL(gatewayUrl, {
    query: `mutation { createUser(input: { email: "t@uni.example", password: "password 123", name: "T", role: TEACHER }) { id } }`,
    token,
  });
  const course = await postGraphQL(gatewayUrl, {
    query: `mutation($t: ID!) { createCourse(input: { code: "PROC-1", title: "Processes", capacity: 3, teacherId: $t }) { id teacher { id } } }`,
    variables: { t: teacher.data?.createUser.id },
    token,
  });
  expect(course.errors).toBeUndefined();
  const r = await postGraphQL(gatewayUrl, {
    query: `query($c: ID!) { course(id: $c) { code attendanceRate teacher { id } } me { wallet { balance } } }`,
    variables: { c: course.data?.createCourse.id },
    token,
  });
  expect(r.errors).toBeUndefined();
  expect(r.data).toEqual({ course: { code: "PROC-1", attendanceRate: null, teacher: { id: teacher.data?.createUser.id } }, me: { wallet: null } });
});

test("each process stops cleanly on SIGTERM", async () => {
  const exits = await Promise.all(children.map((c) => new Promise<number | null>((resolve) => {
    c.process.once("exit", (code) => resolve(code));
    c.process.kill("SIGTERM");
  })));
  expect(exits).toEqual([0, 0, 0, 0, 0]);
});
