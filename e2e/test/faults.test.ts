// Faults injected into the running system (separate processes, real Postgres, under load):
// a hung subgraph, a killed one, the token issuer down, a graceful restart, database
// connections terminated. Each must cost what it is documented to cost, and no more.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { generateSigningKey } from "@pooya/platform";
import { SignJWT } from "jose";
import { postGraphQL, type GraphQLResponse } from "../src/harness.ts";
import { PROCESS_ADMIN, startProcesses, type Processes } from "../src/processes.ts";
import { percentile, startLoad, type Outcome } from "../src/load.ts";

const CALL_TIMEOUT_MS = 3_000; // the default
const BREAKER_OPEN_MS = 2_000; // shorter than the default 60 s, so the suite sees it close again
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let system: Processes;
let admin: string;
let student: { id: string; token: string };
let mealId: string;
const measured: Record<string, unknown> = {};

const call = (query: string, token = admin, variables?: Record<string, unknown>) => postGraphQL(system.gatewayUrl, { query, token, variables });
const codes = (r: GraphQLResponse) => (r.errors ?? []).map((e) => e.extensions?.code);

beforeAll(async () => {
  system = await startProcesses({ env: { BREAKER_OPEN_MS: String(BREAKER_OPEN_MS), KEYS_REFRESH_MS: "1000", LOG_LEVEL: "warn", REUSE_PORT: "true" } });
  admin = (await call(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, "", { e: PROCESS_ADMIN.email, p: PROCESS_ADMIN.password })).data?.login.accessToken;
  const email = `s-${randomBytes(3).toString("hex")}@uni.example`;
  const registered = await call(`mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`, "", { i: { email, password: "student password", name: "Faulty Student" } });
  student = { id: registered.data?.register.user.id, token: registered.data?.register.accessToken };
  await call(`mutation($u: ID!) { topUpWallet(userId: $u, amount: 10000000) { balance } }`, admin, { u: student.id });
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  mealId = (await call(`mutation($i: AddMealInput!) { addMeal(input: $i) { id } }`, admin, { i: { name: "Ash", mealType: "LUNCH", servingDate: tomorrow, price: 10, stock: 100_000 } })).data?.addMeal.id;
  expect(admin && student.token && mealId).toBeTruthy();
}, 60_000);

afterAll(async () => {
  console.log(`fault suite measurements: ${JSON.stringify(measured)}`);
  await system?.close();
});

/** Every subgraph ready and every breaker closed again, as each test starts from a healthy system. */
async function healthy() {
  for (let i = 0; i < 100; i += 1) {
    const { status, body } = await readyz();
    const subgraphs = Object.values(body.subgraphs ?? {}) as { ready: boolean; breaker: { state: string } }[];
    if (status === 200 && subgraphs.every((s) => s.ready && s.breaker.state === "closed")) return;
    await call(`{ me { name wallet { balance } teachingCourses { code } } }`).catch(() => undefined); // lets a half-open breaker probe
    await sleep(100);
  }
  throw new Error(`not healthy: ${JSON.stringify((await readyz()).body)}`);
}

beforeEach(healthy, 20_000);

async function readyz() {
  const r = await fetch(`${system.processes.gateway.url}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

describe("a hung subgraph (SIGSTOP)", () => {
  test("costs each request at most the timeout, then the breaker answers at once; traffic resumes after SIGCONT and the open period", async () => {
    system.signal("food", "SIGSTOP");
    let outcomes: Outcome<GraphQLResponse>[];
    const fastAnswers: number[] = [];
    try {
      // wallet is food's, on a User from users: a nullable field, so the rest of the answer stands.
      const load = startLoad(6, () => call(`{ me { name wallet { balance } } }`));
      await sleep(CALL_TIMEOUT_MS + 300); // the first wave times out, the breaker opens
      // On a loaded machine the timeouts may land a little later: wait (bounded) until it has.
      for (let tries = 0; tries < 3 && codes(await call(`{ meals { id } }`))[0] !== "SERVICE_UNAVAILABLE"; tries += 1);
      // A food-only query while the breaker is open: answered without calling food.
      for (let i = 0; i < 20; i += 1) {
        const started = performance.now();
        const r = await call(`{ meals { id } }`);
        fastAnswers.push(performance.now() - started);
        expect(codes(r)).toEqual(["SERVICE_UNAVAILABLE"]);
        expect(r.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      }
      const health = await readyz();
      expect(health.status).toBe(200);
      // Open — or, on a busy machine, already probing (half-open) once the short open period passed.
      expect(["open", "half-open"]).toContain(health.body.subgraphs.food.breaker.state);
      outcomes = await load.stop();
    } finally {
      system.signal("food", "SIGCONT");
    }
    const latencies = outcomes.map((o) => o.ms);
    expect(outcomes.every((o) => o.result?.status === 200 && o.result.data?.me?.name === "Administrator")).toBe(true);
    const errorCodes = outcomes.flatMap((o) => codes(o.result!));
    expect(errorCodes).toContain("GATEWAY_TIMEOUT");
    expect(errorCodes).toContain("SERVICE_UNAVAILABLE");
    expect(new Set(errorCodes)).toEqual(new Set(["GATEWAY_TIMEOUT", "SERVICE_UNAVAILABLE"]));
    expect(Math.max(...latencies)).toBeLessThan(CALL_TIMEOUT_MS + 500);
    expect(percentile(fastAnswers, 0.5)).toBeLessThan(50);
    measured.hungMaxLatencyMs = Math.max(...latencies);
    measured.breakerOpenLatencyMs = { p50: Math.round(percentile(fastAnswers, 0.5) * 10) / 10, max: Math.round(Math.max(...fastAnswers) * 10) / 10 };

    // After the open period one probe goes through, succeeds, and closes the breaker.
    await sleep(BREAKER_OPEN_MS);
    let resumed: GraphQLResponse | undefined;
    for (let i = 0; i < 50 && !(resumed && !resumed.errors); i += 1) {
      resumed = await call(`{ me { name wallet { balance } } }`);
      if (resumed.errors) await sleep(100);
    }
    expect(resumed?.errors).toBeUndefined();
    expect((await readyz()).body.subgraphs.food.breaker.state).toBe("closed");
  }, 30_000);
});

describe("a killed subgraph (SIGKILL)", () => {
  test("answers partial data: its fields carry codes, every other subgraph's fields are complete", async () => {
    system.signal("food", "SIGKILL");
    await system.processes.food.exited;
    const load = startLoad(4, () => call(`{ me { name teachingCourses { code } wallet { balance } } }`));
    await sleep(CALL_TIMEOUT_MS + 1_000);
    const health = await readyz();
    const outcomes = await load.stop();
    measured.readyzDuringFoodOutage = health.body;
    expect(health.status).toBe(200);
    expect(health.body.subgraphs.food.ready).toBe(false);
    expect(health.body.subgraphs.users.ready).toBe(true);
    for (const { result } of outcomes) {
      expect(result?.status).toBe(200);
      expect(result?.data?.me).toEqual({ name: "Administrator", teachingCourses: [], wallet: null });
      expect(result?.errors?.map((e) => [e.path?.join("."), e.extensions?.code])).toEqual([["me", "SERVICE_UNAVAILABLE"]]);
    }
    await system.start("food");
  }, 30_000);
});

describe("the token issuer down", () => {
  test("valid tokens keep working (never a 401) with the keys fetched before, however old; an unknown key id is 503", async () => {
    system.signal("users", "SIGKILL");
    await system.processes.users.exited;
    try {
      const load = startLoad(4, (client) => (client % 2 ? call(`{ meals { id } }`, student.token) : call(`{ me { name } }`, student.token)));
      await sleep(2_500); // longer than KEYS_REFRESH_MS: a background refresh fails meanwhile
      const outcomes = await load.stop();
      const statuses = outcomes.map((o) => o.result?.status);
      measured.unauthorizedDuringUsersOutage = statuses.filter((s) => s === 401).length;
      expect(statuses.filter((s) => s === 401)).toEqual([]);
      expect(outcomes.filter((o) => o.result?.data?.meals).length).toBeGreaterThan(0); // food answers with the stale keys
      for (const { result } of outcomes.filter((o) => o.result?.data?.me === null)) expect(codes(result!)).toEqual(["SERVICE_UNAVAILABLE"]);
      const keys = (await readyz()).body.accessTokenKeys;
      expect(keys).toMatchObject({ loaded: true, stale: true });

      // A token signed by a key the gateway never saw cannot be judged while users is down.
      const stranger = await generateSigningKey();
      const forged = await new SignJWT({ role: "STAFF" }).setProtectedHeader({ alg: "EdDSA", kid: stranger.kid, typ: "at+jwt" })
        .setIssuer("pooya-users").setAudience("pooya-api").setSubject(student.id).setIssuedAt().setExpirationTime("5m").sign(stranger.privateKey);
      const unknown = await fetch(system.gatewayUrl, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${forged}` }, body: JSON.stringify({ query: "{ meals { id } }" }) });
      expect(unknown.status).toBe(503);
      expect(unknown.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(((await unknown.json()) as GraphQLResponse).errors?.[0]?.extensions?.code).toBe("SERVICE_UNAVAILABLE");
    } finally {
      await system.start("users");
    }
    // Back: the keys are fresh again and a forged token is a plain 401.
    await sleep(1_200);
    const back = await call(`{ me { name } }`, student.token);
    expect(back.data?.me?.name).toBe("Faulty Student");
  }, 30_000);
});

describe("a graceful restart under load", () => {
  test("fails none of the requests the gateway accepted, mutations included", async () => {
    const load = startLoad(6, (client, sequence) =>
      client === 0
        ? call(`mutation($i: BuyMealInput!) { buyMeal(input: $i) { id status } }`, student.token, { i: { mealId, quantity: 1, idempotencyKey: `restart-${sequence}` } })
        : call(`{ me { name } meals { id } }`, student.token),
    );
    await sleep(500);
    // As a supervisor restarts it without a gap: the new process first (REUSE_PORT), then
    // SIGTERM to the old one, which drains while the load goes on.
    const old = system.processes.food;
    const exitCode = await system.restart("food");
    await sleep(700);
    const outcomes = await load.stop();
    expect(exitCode, old.output).toBe(0);
    const failed = outcomes.filter((o) => o.error || o.result?.status !== 200 || o.result.errors);
    measured.failedDuringGracefulRestart = failed.length;
    measured.requestsDuringGracefulRestart = outcomes.length;
    expect(failed.map((o) => o.error ?? JSON.stringify(o.result?.errors))).toEqual([]);
    const buys = outcomes.filter((o) => o.client === 0).length;
    const { rows } = await withDatabase(system.databaseUrls.food, (db) => db.query(`SELECT count(*)::int AS n FROM food_orders WHERE idempotency_key LIKE 'restart-%'`));
    expect(rows[0].n).toBe(buys); // each purchase made exactly once
  }, 30_000);
});

describe("database connections terminated under load", () => {
  test("only retryable codes while it happens, nothing half-written, recovery without a restart", async () => {
    const before = await foodBooks();
    const load = startLoad(6, (client, sequence) =>
      client < 2
        ? call(`mutation($i: BuyMealInput!) { buyMeal(input: $i) { id status } }`, student.token, { i: { mealId, quantity: 1, idempotencyKey: `terminate-${client}-${sequence}` } })
        : call(`{ meals { id } myOrders { id } }`, student.token),
    );
    for (let i = 0; i < 6; i += 1) {
      await sleep(150);
      await withDatabase("postgres://postgres@127.0.0.1:5432/postgres", (db) =>
        db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [new URL(system.databaseUrls.food).pathname.slice(1)]));
    }
    await sleep(300);
    const outcomes = await load.stop();
    const errorCodes = outcomes.flatMap((o) => (o.result ? codes(o.result) : ["NETWORK"]));
    measured.databaseTerminations = { requests: outcomes.length, retryableErrors: errorCodes.length };
    expect(errorCodes.filter((c) => c !== "SERVICE_UNAVAILABLE")).toEqual([]);
    expect(outcomes.every((o) => o.result?.status === 200)).toBe(true);
    const after = await call(`{ meals { id } }`, student.token);
    expect(after.errors).toBeUndefined();
    // Money and stock add up: every confirmed order was paid and taken from stock exactly once.
    const now = await foodBooks();
    expect(now.balance + now.spent).toBe(before.balance + before.spent);
    expect(now.stock + now.sold).toBe(before.stock + before.sold);
  }, 30_000);
});

async function withDatabase<T>(url: string, work: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

async function foodBooks() {
  return withDatabase(system.databaseUrls.food, async (db) => {
    const { rows } = await db.query(
      `SELECT (SELECT balance FROM wallets WHERE user_id = $1)::int AS balance,
              (SELECT coalesce(sum(total_price), 0) FROM food_orders WHERE user_id = $1 AND status = 'CONFIRMED')::int AS spent,
              (SELECT stock FROM meals WHERE id = $2)::int AS stock,
              (SELECT coalesce(sum(quantity), 0) FROM food_orders WHERE meal_id = $2 AND status = 'CONFIRMED')::int AS sold`,
      [student.id, mealId],
    );
    return rows[0] as { balance: number; spent: number; stock: number; sold: number };
  });
}
