// `npm start` on a fresh data folder with no *_DATABASE_URL: embedded Postgres, migrations,
// the demo term, and the full contract through the gateway — started exactly as a user would.
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/free-port.ts";
import { SERVICE_NAMES, postGraphQL } from "../src/harness.ts";
import { subscribeNotifications } from "../src/live.ts";
import { createDatabases } from "@pooya/system";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
let child: ChildProcess;
let output = "";
let dataDir: string;
let gatewayUrl: string;

/** `npm start` as a user runs it, on free ports, with `env` on top of a clean environment. */
async function spawnStart(extraEnv: Record<string, string>, dir: string) {
  // The developer's own databases, admin, seed, broker and mail server stay out unless the test sets them.
  const unset = new Set([
    ...SERVICE_NAMES.map((s) => `${s.toUpperCase()}_DATABASE_URL`),
    "POOYA_ADMIN_EMAIL",
    "POOYA_ADMIN_PASSWORD",
    "POOYA_SEED",
    "NATS_URL",
    "SMTP_URL",
  ]);
  const inherited = Object.entries(process.env).filter(([name]) => !unset.has(name));
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(inherited),
    POOYA_DATA_DIR: dir,
    NODE_ENV: "development",
    ...extraEnv,
  };
  // Free ports, so the test runs beside a developer's own `npm start`.
  env.PORT = String(await freePort());
  for (const name of SERVICE_NAMES) env[`${name.toUpperCase()}_PORT`] = String(await freePort());
  const process_ = spawn("npm", ["start"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  return { process: process_, gatewayUrl: `http://127.0.0.1:${env.PORT}/graphql` };
}

function waitFor(pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}; output:\n${output}`));
    });
    check();
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "pooya-start-"));
  ({ process: child, gatewayUrl } = await spawnStart({}, dataDir));
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  await waitFor(/system ready/, 280_000);
}, 300_000);

afterAll(async () => {
  try {
    if (child?.pid) process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
  await rm(dataDir, { recursive: true, force: true });
});

test("it ran on embedded Postgres and printed the URLs and demo credentials", () => {
  expect(output).toMatch(/embedded Postgres \(PGlite\) for users, courses, attendance, food, notifications/);
  expect(output).toContain(gatewayUrl);
  expect(output).toMatch(/student1@pooya\.local \/ \S+/);
  expect(output).toMatch(/seed: done/);
});

test("a demo student logs in and reads across all four subgraphs", async () => {
  const password = /student1@pooya\.local \/ (\S+)/.exec(output)![1];
  const login = await postGraphQL(gatewayUrl, {
    query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
    variables: { e: "student1@pooya.local", p: password },
  });
  expect(login.errors).toBeUndefined();
  const r = await postGraphQL(gatewayUrl, {
    query: `{ me { name role enrolledCourses { code teacher { name } } attendance { status course { code } } wallet { balance } foodOrders { meal { name } } } meals { id } }`,
    token: login.data?.login.accessToken,
  });
  expect(r.errors).toBeUndefined();
  expect(r.data?.me.role).toBe("STUDENT");
  expect(r.data?.me.enrolledCourses.length).toBeGreaterThan(0);
  expect(r.data?.me.enrolledCourses[0].teacher.name).toMatch(/^Dr /);
  expect(r.data?.me.attendance.length).toBeGreaterThan(0);
  expect(r.data?.me.wallet.balance).toBeGreaterThan(0);
  expect(r.data?.meals.length).toBeGreaterThan(0);
});

test("with nothing configured, notifications work: the seeded term is in a student's list, and a new one arrives live", async () => {
  const password = /student1@pooya\.local \/ (\S+)/.exec(output)![1];
  const login = await postGraphQL(gatewayUrl, {
    query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`,
    variables: { e: "student1@pooya.local", p: password },
  });
  const token = login.data?.login.accessToken as string;
  const kinds = async () => {
    const r = await postGraphQL(gatewayUrl, {
      query: `{ me { unreadNotificationCount notifications(first: 100) { edges { node { kind } } } } }`,
      token,
    });
    expect(r.errors).toBeUndefined();
    return new Set(r.data?.me.notifications.edges.map((e: { node: { kind: string } }) => e.node.kind));
  };
  // The demo seed leaves thousands of events for notifications to apply (≈ 2 s on an idle machine;
  // much longer while CI runs other suites and a browser beside it): this waits for correctness,
  // not speed (bench:events measures that).
  await vi.waitFor(
    async () =>
      expect([...(await kinds())]).toEqual(
        expect.arrayContaining(["WELCOME", "ENROLLED", "WALLET_TOPPED_UP", "ORDER_CONFIRMED"]),
      ),
    { timeout: 60_000, interval: 250 },
  );

  const live = await subscribeNotifications(gatewayUrl, token);
  try {
    const admin = await postGraphQL(gatewayUrl, {
      query: `mutation { login(email: "admin@pooya.local", password: "pooya-admin-demo") { accessToken } }`,
    });
    await postGraphQL(gatewayUrl, {
      query: `mutation($u: ID!) { topUpWallet(userId: $u, amount: 123) { balance } }`,
      variables: { u: login.data?.login.user.id },
      token: admin.data?.login.accessToken,
    });
    // Events are applied in order: this one waits behind whatever of the seed's backlog is left.
    // Live delivery within 1 s, without a backlog, is events.test.ts's to prove.
    const got = await live.waitFor((n) => n.kind === "WALLET_TOPPED_UP", 30_000);
    expect(got.notification.title).toBe("123 added to your wallet");
  } finally {
    await live.close();
  }
  // No SMTP_URL: the mails were written to the log instead (LOG_LEVEL warn hides them; the mail outbox says so).
}, 120_000);

test("the gateway answers health checks and serves Apollo Sandbox to a browser", async () => {
  const base = gatewayUrl.replace(/\/graphql$/, "");
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  const page = await fetch(gatewayUrl, { headers: { accept: "text/html" } });
  expect(page.status).toBe(200);
  expect(await page.text()).toMatch(/sandbox/i);
});

test("Ctrl-C stops everything cleanly", async () => {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(-child.pid!, "SIGINT"); // what a terminal sends to the whole process group
  await exited;
  // Every process of the group (npm, tsx, the system) is gone, with no kill needed.
  await vi.waitFor(() => expect(() => process.kill(-child.pid!, 0)).toThrow(), { timeout: 12_000, interval: 100 });
  // Everything stopped in order within SHUTDOWN_TIMEOUT_MS (10 s); past it, the system would
  // have said what was still stopping and exited 1 (npm, killed by the same Ctrl-C, hides the code).
  await vi.waitFor(() => expect(output.slice(output.indexOf("stopping…"))).toMatch(/^stopped \(\d+\.\d s\)$/m), {
    timeout: 2_000,
    interval: 50,
  });
  expect(output).not.toMatch(/not stopped within/);
  expect(output).toMatch(/stopping/);
  expect(output).not.toMatch(/stopping[\s\S]*Error/);
  await expect(fetch(gatewayUrl)).rejects.toThrow();
}, 30_000);

describe("with *_DATABASE_URL set", () => {
  test("POOYA_SEED=true without an admin to seed as is refused, with every other problem, before anything starts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pooya-start-bad-"));
    const started = await spawnStart(
      {
        USERS_DATABASE_URL: "postgres://postgres@127.0.0.1:5432/x",
        POOYA_SEED: "true",
        EVENTS_POLL_INTERVAL_MS: "often",
      },
      dir,
    );
    let log = "";
    started.process.stdout!.on("data", (c) => (log += c));
    started.process.stderr!.on("data", (c) => (log += c));
    const code = await new Promise((resolve) => started.process.once("exit", resolve));
    await rm(dir, { recursive: true, force: true });
    expect(code).not.toBe(0);
    expect(log).toMatch(/POOYA_SEED: seeding needs POOYA_ADMIN_EMAIL and POOYA_ADMIN_PASSWORD/);
    expect(log).toMatch(/\[attendance\] EVENTS_POLL_INTERVAL_MS: must be a whole number/);
    expect(log).not.toMatch(/embedded Postgres/);
  });

  test("the same command runs on real Postgres, migrates it, and seeds nothing", async () => {
    const databases = await createDatabases(SERVICE_NAMES);
    const dir = await mkdtemp(join(tmpdir(), "pooya-start-real-"));
    const started = await spawnStart(
      {
        ...Object.fromEntries(
          SERVICE_NAMES.map((name) => [`${name.toUpperCase()}_DATABASE_URL`, databases.urls[name]!]),
        ),
        POOYA_ADMIN_EMAIL: "root@uni.example",
        POOYA_ADMIN_PASSWORD: "a real secret 123",
      },
      dir,
    );
    let log = "";
    started.process.stdout!.on("data", (c) => (log += c));
    started.process.stderr!.on("data", (c) => (log += c));
    try {
      await vi.waitFor(() => expect(log).toMatch(/system ready/), { timeout: 60_000, interval: 200 });
      expect(log).not.toMatch(/embedded Postgres/);
      expect(log).not.toMatch(/seed:/);
      expect(log).not.toContain("a real secret 123"); // a configured password is never printed
      const login = await postGraphQL(started.gatewayUrl, {
        query: `mutation { login(email: "root@uni.example", password: "a real secret 123") { accessToken } }`,
      });
      const r = await postGraphQL(started.gatewayUrl, {
        query: `{ me { role teachingCourses { id } wallet { balance } } users { totalCount } }`,
        token: login.data?.login.accessToken,
      });
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ me: { role: "STAFF", teachingCourses: [], wallet: null }, users: { totalCount: 1 } });
    } finally {
      try {
        process.kill(-started.process.pid!, "SIGINT");
      } catch {
        // already gone
      }
      await new Promise((resolve) => started.process.once("exit", resolve));
      await databases.drop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
