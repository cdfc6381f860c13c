// The production topology without Docker: the gateway and each subgraph as its own process,
// started from its main.ts with only environment variables — what each container runs. Here:
// the contract across processes, one request id through every log, configuration errors, and
// a shutdown that ends on time while a client keeps its connections busy.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Agent } from "node:http";
import { postGraphQL } from "../src/harness.ts";
import {
  PROCESS_ADMIN,
  spawnService,
  startProcesses,
  stopProcess,
  waitUntilReady,
  type Processes,
} from "../src/processes.ts";
import { freePort } from "../src/free-port.ts";
import { rawRequest } from "../src/raw-http.ts";

let system: Processes;
let token: string;
beforeAll(async () => {
  system = await startProcesses();
  const login = await postGraphQL(system.gatewayUrl, {
    query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
    variables: { e: PROCESS_ADMIN.email, p: PROCESS_ADMIN.password },
  });
  token = login.data?.login.accessToken as string;
}, 60_000);
afterAll(() => system?.close());

test("five processes configured by environment alone serve the contract together", async () => {
  expect(token).toBeTruthy();
  const teacher = await postGraphQL(system.gatewayUrl, {
    query: `mutation { createUser(input: { email: "t@uni.example", password: "password 123", name: "T", role: TEACHER }) { id } }`,
    token,
  });
  const course = await postGraphQL(system.gatewayUrl, {
    query: `mutation($t: ID!) { createCourse(input: { code: "PROC-1", title: "Processes", capacity: 3, teacherId: $t }) { id teacher { id } } }`,
    variables: { t: teacher.data?.createUser.id },
    token,
  });
  expect(course.errors).toBeUndefined();
  const r = await postGraphQL(system.gatewayUrl, {
    query: `query($c: ID!) { course(id: $c) { code attendanceRate teacher { id } } me { wallet { balance } } }`,
    variables: { c: course.data?.createCourse.id },
    token,
  });
  expect(r.errors).toBeUndefined();
  expect(r.data).toEqual({
    course: { code: "PROC-1", attendanceRate: null, teacher: { id: teacher.data?.createUser.id } },
    me: { wallet: null },
  });
});

test("one request id is in the gateway's and every touched subgraph's log lines, and never a token", async () => {
  const requestId = `trace-me-${Date.now()}`;
  const r = await postGraphQL(system.gatewayUrl, {
    query: `{ me { name teachingCourses { code } wallet { balance } } }`,
    token,
    headers: { "x-request-id": requestId },
  });
  expect(r.errors).toBeUndefined();
  expect(r.headers?.get("x-request-id")).toBe(requestId);
  await new Promise((resolve) => setTimeout(resolve, 200)); // log lines are flushed as they are written; give the pipes a moment
  const withId = (name: "gateway" | "users" | "courses" | "food") =>
    system.processes[name].logLines().filter((l) => l.reqId === requestId);
  for (const name of ["gateway", "users", "courses", "food"] as const) {
    const lines = withId(name);
    expect(lines.length, `${name} logged no line for ${requestId}`).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ service: name, level: "info", msg: "request", status: 200 });
    expect(typeof lines[0]!.time).toBe("string");
  }
  for (const name of ["gateway", "users", "courses", "attendance", "food"] as const) {
    expect(system.processes[name].output).not.toContain(token);
    expect(system.processes[name].output).not.toContain(PROCESS_ADMIN.password);
  }
});

describe("configuration", () => {
  test("a service started with three bad variables names all three and exits 1, without a stack trace", async () => {
    const env = {
      ...system.envOf("courses"),
      PORT: "0",
      DATABASE_POOL_SIZE: "abc",
      USERS_URL: "users:4001",
      COURSES_SERVICE_SIGNING_KEYS: '[{"kid":"k1","kty":"OKP","crv":"Ed25519","x":"x","d":"too-short"}', // not JSON: cut short
    };
    const courses = spawnService("courses", "subgraphs/courses/src/main.ts", env, 0);
    expect(await courses.exited).toBe(1);
    expect(courses.output).toMatch(/courses cannot start: 3 configuration problems/);
    expect(courses.output).toMatch(/DATABASE_POOL_SIZE: must be a whole number from 1 to 1000 \(got "abc"\)/);
    expect(courses.output).toMatch(/USERS_URL: must be an http:\/\/ or https:\/\/ URL/);
    expect(courses.output).toMatch(
      /COURSES_SERVICE_SIGNING_KEYS: must be JSON: a JSON array of private Ed25519 JWKs with a kid/,
    );
    expect(courses.output).not.toContain("too-short"); // a secret's value is never echoed
    expect(courses.output).not.toMatch(/\n\s+at /);
  });

  test("an unreachable database is named in one line, exit 1", async () => {
    const env = { ...system.envOf("food"), PORT: "0", FOOD_DATABASE_URL: "postgres://postgres@127.0.0.1:1/food" };
    const food = spawnService("food", "subgraphs/food/src/main.ts", env, 0);
    expect(await food.exited).toBe(1);
    const fatal = food.logLines().find((l) => l.level === "fatal");
    expect(fatal?.msg).toMatch(/could not start: nothing listens at the database's address/);
    expect(food.output).not.toMatch(/\n\s+at /);
  });

  test("the gateway names a bad token-keys URL and a bad subgraph URL together", async () => {
    const env = { ...system.envOf("gateway"), PORT: "0", ACCESS_TOKEN_JWKS_URL: "not a url", FOOD_URL: "ftp://food" };
    const gateway = spawnService("gateway", "gateway/src/main.ts", env, 0);
    expect(await gateway.exited).toBe(1);
    expect(gateway.output).toMatch(/ACCESS_TOKEN_JWKS_URL: must be an http/);
    expect(gateway.output).toMatch(/FOOD_URL: must be an http/);
  });
});

describe("shutdown", () => {
  test("SIGTERM while a client keeps keep-alive connections busy: in-flight requests finish, the process exits within the deadline", async () => {
    // A gateway of its own with a short deadline, so the test also proves the deadline bounds it.
    const port = await freePort();
    const gateway = spawnService(
      "gateway",
      "gateway/src/main.ts",
      { ...system.envOf("gateway"), PORT: String(port), SHUTDOWN_TIMEOUT_MS: "4000" },
      port,
    );
    await waitUntilReady(gateway);

    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const outcomes: string[] = [];
    let stop = false;
    const body = JSON.stringify({ query: "{ me { id name } }" });
    const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
    // Four busy keep-alive connections, each sending the next request as soon as the last answered.
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          const r = await rawRequest(`${gateway.url}/graphql`, { method: "POST", headers, body, agent });
          const ok = r.status === 200 && JSON.parse(r.body.toString()).data?.me?.name;
          outcomes.push(ok ? "ok" : `bad ${r.status} ${r.body.toString().slice(0, 200)}`);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
          // A new connection refused after the signal is not a failed request: nothing was sent.
          outcomes.push(code === "ECONNREFUSED" ? "refused" : `failed ${code}`);
          if (code === "ECONNREFUSED") return;
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const okBefore = outcomes.filter((o) => o === "ok").length;
    const signalled = Date.now();
    gateway.child.kill("SIGTERM");
    const code = await gateway.exited;
    const tookMs = Date.now() - signalled;
    stop = true;
    await Promise.all(clients);
    agent.destroy();

    console.log(
      `drain: ${tookMs} ms, outcomes ${JSON.stringify(Object.fromEntries([...new Set(outcomes)].map((o) => [o, outcomes.filter((x) => x === o).length])))}`,
    );
    expect(okBefore, JSON.stringify(outcomes.slice(0, 5))).toBeGreaterThan(10);
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(4000);
    expect(outcomes.filter((o) => o !== "ok" && o !== "refused")).toEqual([]);
    const lines = gateway.logLines();
    expect(lines.some((l) => l.msg === "stopping" && l.signal === "SIGTERM")).toBe(true);
    expect(lines.some((l) => l.msg === "stopped")).toBe(true);
  });

  test("each process stops cleanly on SIGTERM", async () => {
    const exits = await Promise.all(Object.values(system.processes).map((p) => stopProcess(p, "SIGTERM")));
    expect(exits).toEqual(Object.values(system.processes).map(() => 0));
  });
});
