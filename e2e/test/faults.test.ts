// Faults injected into the running system (separate processes, real Postgres, under load):
// the machine oversubscribed, a hung subgraph, a killed one, courses killed under attendance,
// the token issuer down, a graceful restart, database connections terminated. Each must cost
// what it is documented to cost, and no more.
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import pg from "pg";
import { generateSigningKey } from "@pooya/identity";
import { SignJWT } from "jose";
import { postGraphQL, type GraphQLResponse } from "../src/harness.ts";
import { PROCESS_ADMIN, startProcesses, type ProcessName, type Processes } from "../src/processes.ts";
import { percentile, startLoad, type Outcome } from "../src/load.ts";
import { metricSum } from "../src/metrics.ts";
import { day } from "../src/fixtures.ts";

const CALL_TIMEOUT_MS = 3_000; // the default
// The breakers' policy is the default (50 % of ≥ 20 calls in 10 s, /readyz every 1 s) except
// this: 2 calls in a row that reach nothing open a breaker (default 5), so that a service →
// service breaker with little traffic (attendance → courses) opens within seconds here.
const BREAKER_CONNECTION_FAILURES = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let system: Processes;
let admin: string;
let student: { id: string; token: string };
let mealId: string;
const measured: Record<string, unknown> = {};

const call = (query: string, token = admin, variables?: Record<string, unknown>) =>
  postGraphQL(system.gatewayUrl, { query, token, variables });
const codes = (r: GraphQLResponse) => (r.errors ?? []).map((e) => e.extensions?.code);

beforeAll(async () => {
  system = await startProcesses({
    env: {
      BREAKER_CONNECTION_FAILURES: String(BREAKER_CONNECTION_FAILURES),
      KEYS_REFRESH_MS: "1000",
      LOG_LEVEL: "warn",
      REUSE_PORT: "true",
    },
  });
  admin = (
    await call(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, "", {
      e: PROCESS_ADMIN.email,
      p: PROCESS_ADMIN.password,
    })
  ).data?.login.accessToken;
  const email = `s-${randomBytes(3).toString("hex")}@uni.example`;
  const registered = await call(
    `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`,
    "",
    { i: { email, password: "student password", name: "Faulty Student" } },
  );
  student = { id: registered.data?.register.user.id, token: registered.data?.register.accessToken };
  await call(`mutation($u: ID!) { topUpWallet(userId: $u, amount: 10000000) { balance } }`, admin, { u: student.id });
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  mealId = (
    await call(`mutation($i: AddMealInput!) { addMeal(input: $i) { id } }`, admin, {
      i: { name: "Ash", mealType: "LUNCH", servingDate: tomorrow, price: 10, stock: 100_000 },
    })
  ).data?.addMeal.id;
  expect(admin && student.token && mealId).toBeTruthy();
}, 60_000);

/** A new user of the role, created by STAFF and signed in. */
async function newUser(role: "STUDENT" | "TEACHER") {
  const email = `${role.toLowerCase()}-${randomBytes(4).toString("hex")}@uni.example`;
  const created = await call(`mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`, admin, {
    i: { email, password: "a password 123", name: `A ${role}`, role },
  });
  const id = created.data?.createUser.id as string;
  if (!id) throw new Error(`createUser failed: ${JSON.stringify(created.errors)}`);
  const token = (
    await call(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, "", {
      e: email,
      p: "a password 123",
    })
  ).data?.login.accessToken as string;
  return { id, token };
}

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
    await call(`{ me { name wallet { balance } teachingCourses { code } } }`).catch(() => undefined); // a trial call, should /readyz not tell
    await sleep(100);
  }
  throw new Error(`not healthy: ${JSON.stringify((await readyz()).body)}`);
}

beforeEach(healthy, 20_000);

async function readyz() {
  const r = await fetch(`${system.processes.gateway.url}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

const CALLERS: ProcessName[] = ["gateway", "courses", "attendance", "food", "notifications"];
/** Breaker state changes into `state` so far, over every caller (gateway → subgraph and service → service) or one. */
const transitions = (state: "open" | "closed", callers = CALLERS, upstream?: string) =>
  Promise.all(
    callers.map((caller) =>
      metricSum(system.processes[caller].url, "upstream_breaker_transitions_total", {
        state,
        ...(upstream ? { upstream } : {}),
      }),
    ),
  ).then((counts) => counts.reduce((a, b) => a + b, 0));
/** A service's breaker for one service it calls: 0 closed, 1 half-open, 2 open. */
const breakerState = (caller: ProcessName, upstream: string) =>
  metricSum(system.processes[caller].url, "upstream_breaker_state", { upstream });

/** Resolves when `name` answers /readyz 200, with the moment it first did. */
async function readyAt(name: ProcessName): Promise<number> {
  for (;;) {
    const ready = await fetch(`${system.processes[name].url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return Date.now();
    await sleep(20);
  }
}

describe("the machine oversubscribed, nothing down", () => {
  test("twice as many busy processes as cores under client load: slow answers, and no breaker opens", async () => {
    const opensBefore = await transitions("open");
    const busy = Array.from({ length: 2 * availableParallelism() }, () =>
      spawn("sh", ["-c", "while :; do :; done"], { stdio: "ignore" }),
    );
    let outcomes: Outcome<GraphQLResponse>[];
    const load1m: number[] = [];
    try {
      const load = startLoad(8, (client) =>
        client % 2
          ? call(`{ me { name wallet { balance } teachingCourses { code } } }`)
          : call(`{ meals { id name } courses(first: 20) { edges { node { code enrollmentCount } } } }`, student.token),
      );
      for (let second = 0; second < 15; second += 1) {
        await sleep(1_000);
        load1m.push(loadavg()[0]!);
      }
      outcomes = await load.stop();
    } finally {
      for (const child of busy) child.kill("SIGKILL");
    }
    const opened = (await transitions("open")) - opensBefore;
    const errorCodes = outcomes.flatMap((o) => (o.result ? codes(o.result) : ["NETWORK"]));
    measured.oversubscribed = {
      busyProcesses: busy.length,
      cores: availableParallelism(),
      loadAverage: Math.round(Math.max(...load1m) * 10) / 10,
      requests: outcomes.length,
      failed: errorCodes.length,
      timedOut: errorCodes.filter((c) => c === "GATEWAY_TIMEOUT").length, // each of which opened a breaker before
      p50Ms: percentile(
        outcomes.map((o) => o.ms),
        0.5,
      ),
      breakerOpenings: opened,
    };
    expect(opened).toBe(0);
    expect(outcomes.filter((o) => o.result && !o.result.errors).length).toBeGreaterThan(outcomes.length / 2);
  }, 60_000);
});

describe("a hung subgraph (SIGSTOP)", () => {
  test("costs each request at most the timeout; once most calls fail the breaker answers at once; after SIGCONT it closes within a probe", async () => {
    const opensBefore = await transitions("open", ["gateway"], "food");
    system.signal("food", "SIGSTOP");
    let outcomes: Outcome<GraphQLResponse>[];
    const fastAnswers: number[] = [];
    let resumedAt: number;
    try {
      // wallet is food's, on a User from users: a nullable field, so the rest of the answer stands.
      // 24 clients: more than the 20 calls in the window the failure rate needs (paced once answered fast).
      const load = startLoad(24, async () => {
        const r = await call(`{ me { name wallet { balance } } }`);
        if (codes(r).includes("SERVICE_UNAVAILABLE")) await sleep(100);
        return r;
      });
      // The first wave times out (3 s); that is more than half of ≥ 20 calls: the breaker opens.
      await vi.waitFor(async () => expect((await readyz()).body.subgraphs.food.breaker.state).toBe("open"), {
        timeout: 15_000,
        interval: 200,
      });
      // A food-only query while the breaker is open: answered without calling food.
      for (let i = 0; i < 20; i += 1) {
        const started = performance.now();
        const r = await call(`{ meals { id } }`);
        fastAnswers.push(performance.now() - started);
        expect(codes(r)).toEqual(["SERVICE_UNAVAILABLE"]);
        expect(r.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      }
      outcomes = await load.stop();
    } finally {
      system.signal("food", "SIGCONT");
      resumedAt = Date.now();
    }
    const latencies = outcomes.map((o) => o.ms);
    expect(outcomes.every((o) => o.result?.status === 200 && o.result.data?.me?.name === "Administrator")).toBe(true);
    const errorCodes = outcomes.flatMap((o) => codes(o.result!));
    expect(errorCodes).toContain("GATEWAY_TIMEOUT");
    expect(errorCodes).toContain("SERVICE_UNAVAILABLE");
    expect(new Set(errorCodes)).toEqual(new Set(["GATEWAY_TIMEOUT", "SERVICE_UNAVAILABLE"]));
    // A timed-out call, plus the pause after a fast answer and a busy machine's scheduling (a
    // missing timeout would show as a second timeout or a hang, not as a few hundred ms more).
    expect(Math.max(...latencies)).toBeLessThan(CALL_TIMEOUT_MS + 1_500);
    expect(percentile(fastAnswers, 0.5)).toBeLessThan(50);
    measured.hungMaxLatencyMs = Math.max(...latencies);
    measured.breakerOpenLatencyMs = {
      p50: Math.round(percentile(fastAnswers, 0.5) * 10) / 10,
      max: Math.round(Math.max(...fastAnswers) * 10) / 10,
    };

    // Resumed: the breaker's next /readyz probe finds food ready and closes it — no open period to sit out.
    await vi.waitFor(async () => expect((await readyz()).body.subgraphs.food.breaker.state).toBe("closed"), {
      timeout: 10_000,
      interval: 50,
    });
    measured.hungResumedToClosedSeconds = (Date.now() - resumedAt) / 1000;
    expect((await call(`{ me { name wallet { balance } } }`)).errors).toBeUndefined();
    expect((await transitions("open", ["gateway"], "food")) - opensBefore).toBe(1); // no trial call went to the hung service
  }, 60_000);
});

describe("a killed subgraph (SIGKILL)", () => {
  test("answers partial data: its fields carry codes, every other subgraph's fields are complete; full answers again within 2 s of its /readyz", async () => {
    const FULL = `{ me { name teachingCourses { code } wallet { balance } } }`;
    system.signal("food", "SIGKILL");
    await system.processes.food.exited;
    const load = startLoad(4, () => call(FULL));
    // Calls that reach nothing, in a row, open the gateway's breaker for food.
    await vi.waitFor(async () => expect((await readyz()).body.subgraphs.food.breaker.state).toBe("open"), {
      timeout: 15_000,
      interval: 200,
    });
    const health = await readyz();
    measured.readyzDuringFoodOutage = health.body;
    expect(health.status).toBe(200);
    expect(health.body.subgraphs.food.ready).toBe(false);
    expect(health.body.subgraphs.users.ready).toBe(true);

    // Back: started under the same load; its /readyz answers ready, then the breaker's probe closes the breaker.
    const restarted = system.start("food");
    const ready = await readyAt("food");
    await restarted;
    let firstFull = 0;
    await vi.waitFor(
      () => {
        firstFull = load.outcomes.find((o) => o.startedAt >= ready && o.result && !o.result.errors)?.startedAt ?? 0;
        expect(firstFull).toBeGreaterThan(0);
      },
      { timeout: 10_000, interval: 20 },
    );
    await sleep(2_500);
    const outcomes = await load.stop();
    // How long after food's readiness requests still went without food's fields (the breaker closing at its next probe).
    const darkAfterReady = Math.max(0, ...outcomes.filter((o) => o.result?.errors).map((o) => o.startedAt - ready));
    measured.secondsFromReadyzToFullAnswers = { first: (firstFull - ready) / 1000, lastPartial: darkAfterReady / 1000 };
    expect(darkAfterReady).toBeLessThan(2_000);
    // Every request sent 2 s after food's readiness got a full answer (none still dark behind the breaker).
    const afterwards = outcomes.filter((o) => o.startedAt >= ready + 2_000);
    expect(afterwards.length).toBeGreaterThan(0);
    expect(afterwards.filter((o) => o.result?.errors).map((o) => JSON.stringify(o.result?.errors))).toEqual([]);
    // While it was down: partial data, food's field null with its code, the rest complete.
    for (const { result } of outcomes.filter((o) => o.result?.errors)) {
      expect(result?.status).toBe(200);
      expect(result?.data?.me).toEqual({ name: "Administrator", teachingCourses: [], wallet: null });
      expect(result?.errors?.map((e) => [e.path?.join("."), e.extensions?.code])).toEqual([
        ["me", "SERVICE_UNAVAILABLE"],
      ]);
    }
    expect(outcomes.filter((o) => o.result?.errors).length).toBeGreaterThan(0);
  }, 60_000);
});

describe("courses killed: attendance decides from its replica", () => {
  const MARK = `mutation($i: MarkAttendanceInput!) { markAttendance(input: $i) { id status date } }`; // attendance's own fields only
  const ROLL = `mutation($i: MarkCourseAttendanceInput!) { markCourseAttendance(input: $i) { id status } }`;

  test("every mark of a student enrolled before the outage succeeds; an enrollment it cannot know is a retryable SERVICE_UNAVAILABLE; once courses is back, a fresh enrollment is marked", async () => {
    const teacher = await newUser("TEACHER");
    const students = await Promise.all(Array.from({ length: 6 }, () => newUser("STUDENT")));
    const newcomer = await newUser("STUDENT");
    const course = (
      await call(`mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`, admin, {
        i: {
          code: `F${randomBytes(3).toString("hex").toUpperCase()}`,
          title: "Faults",
          capacity: 50,
          teacherId: teacher.id,
        },
      })
    ).data?.createCourse;
    for (const s of students)
      expect(
        (
          await call(`mutation($c: ID!, $s: ID) { enroll(courseId: $c, studentId: $s) { id } }`, admin, {
            c: course.id,
            s: s.id,
          })
        ).errors,
      ).toBeUndefined();
    // Delivered to attendance's replica in the background (the held-open feed read).
    await vi.waitFor(
      async () => {
        const rows = await withDatabase(system.databaseUrls.attendance, (db) =>
          db.query(`SELECT count(*)::int AS n FROM enrollment_replicas WHERE course_id = $1 AND enrolled`, [course.id]),
        );
        expect(rows.rows[0].n).toBe(students.length);
      },
      { timeout: 10_000, interval: 100 },
    );
    const opensBefore = await transitions("open", ["attendance"], "courses");

    system.signal("courses", "SIGKILL");
    await system.processes.courses.exited;
    try {
      const mark = (studentId: string, offset: number) =>
        call(MARK, teacher.token, { i: { courseId: course.id, studentId, date: day(offset), status: "PRESENT" } });
      // One mark per student and day, two days, and a roll call of the class: all from the replica.
      const singles: { r: GraphQLResponse; ms: number }[] = [];
      for (const offset of [0, -1]) {
        for (const s of students) {
          const started = performance.now();
          singles.push({ r: await mark(s.id, offset), ms: performance.now() - started });
        }
      }
      const roll = await call(ROLL, teacher.token, {
        i: { courseId: course.id, date: day(-2), marks: students.map((s) => ({ studentId: s.id, status: "LATE" })) },
      });
      const ok =
        singles.filter(({ r }) => r.data?.markAttendance?.status === "PRESENT").length +
        (roll.data?.markCourseAttendance?.length ?? 0);
      const tried = singles.length + students.length;
      measured.marksDuringCoursesOutage = `${ok} of ${tried}`;
      measured.knownMarkMsDuringCoursesOutage = {
        p50: Math.round(
          percentile(
            singles.map((m) => m.ms),
            0.5,
          ),
        ),
        max: Math.round(Math.max(...singles.map((m) => m.ms))),
      };
      expect(singles.flatMap(({ r }) => r.errors ?? [])).toEqual([]);
      expect(roll.errors).toBeUndefined();
      expect(ok).toBe(tried);

      // Not in the replica (enrolled nowhere, as far as it knows): it cannot tell, and says so — retryable, HTTP 200, never a guess.
      // Asked again until attendance's own breaker for courses has opened (service → service).
      const unknown: GraphQLResponse[] = [];
      await vi.waitFor(
        async () => {
          unknown.push(await mark(newcomer.id, 0));
          expect(await breakerState("attendance", "courses")).toBe(2);
        },
        { timeout: 30_000, interval: 100 },
      );
      for (const r of unknown) {
        expect(r.status).toBe(200);
        expect(codes(r)).toEqual(["SERVICE_UNAVAILABLE"]);
        expect(r.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      }
      measured.unknownMarksDuringCoursesOutage = unknown.length;
      // With that breaker open, known students are still marked.
      expect((await mark(students[0]!.id, -3)).errors).toBeUndefined();
      expect((await transitions("open", ["attendance"], "courses")) - opensBefore).toBeGreaterThanOrEqual(1);
    } finally {
      if (system.processes.courses.child.exitCode !== null || system.processes.courses.child.signalCode !== null) {
        const restarted = system.start("courses");
        await readyAt("courses");
        await restarted;
      }
    }

    // Back: enrolled a moment ago, marked as soon as attendance's breaker for courses closed (≤ one probe).
    const back = Date.now();
    await vi.waitFor(
      async () => {
        const enrolled = await call(`mutation($c: ID!, $s: ID) { enroll(courseId: $c, studentId: $s) { id } }`, admin, {
          c: course.id,
          s: newcomer.id,
        });
        expect(codes(enrolled).filter((c) => c !== "CONFLICT")).toEqual([]); // CONFLICT: an earlier try got through
      },
      { timeout: 10_000, interval: 100 },
    );
    let refusedFreshMarks = 0;
    await vi.waitFor(
      async () => {
        const r = await call(MARK, teacher.token, {
          i: { courseId: course.id, studentId: newcomer.id, date: day(0), status: "PRESENT" },
        });
        if (r.errors) refusedFreshMarks += 1;
        expect(r.errors).toBeUndefined();
      },
      { timeout: 10_000, interval: 100 },
    );
    measured.secondsFromCoursesReadyToFreshMark = (Date.now() - back) / 1000;
    measured.freshMarksRefusedAfterCoursesReady = refusedFreshMarks;
    expect(await breakerState("attendance", "courses")).toBe(0);
  }, 90_000);
});

describe("the token issuer down", () => {
  test("valid tokens keep working (never a 401) with the keys fetched before, however old; an unknown key id is 503; food's breaker for users opens and closes with it", async () => {
    const TOP_UP = `mutation($u: ID!) { topUpWallet(userId: $u, amount: 1) { balance } }`;
    let usersReady: number;
    system.signal("users", "SIGKILL");
    await system.processes.users.exited;
    try {
      const load = startLoad(4, (client) =>
        client % 2 ? call(`{ meals { id } }`, student.token) : call(`{ me { name } }`, student.token),
      );
      await sleep(2_500); // longer than KEYS_REFRESH_MS: a background refresh fails meanwhile
      const outcomes = await load.stop();
      const statuses = outcomes.map((o) => o.result?.status);
      measured.unauthorizedDuringUsersOutage = statuses.filter((s) => s === 401).length;
      expect(statuses.filter((s) => s === 401)).toEqual([]);
      expect(outcomes.filter((o) => o.result?.data?.meals).length).toBeGreaterThan(0); // food answers with the stale keys
      for (const { result } of outcomes.filter((o) => o.result?.data?.me === null))
        expect(codes(result!)).toEqual(["SERVICE_UNAVAILABLE"]);
      const keys = (await readyz()).body.accessTokenKeys;
      expect(keys).toMatchObject({ loaded: true, stale: true });

      // A token signed by a key the gateway never saw cannot be judged while users is down.
      const stranger = await generateSigningKey();
      const forged = await new SignJWT({ role: "STAFF" })
        .setProtectedHeader({ alg: "EdDSA", kid: stranger.kid, typ: "at+jwt" })
        .setIssuer("pooya-users")
        .setAudience("pooya-api")
        .setSubject(student.id)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(stranger.privateKey);
      const unknown = await fetch(system.gatewayUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${forged}` },
        body: JSON.stringify({ query: "{ meals { id } }" }),
      });
      expect(unknown.status).toBe(503);
      expect(unknown.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(((await unknown.json()) as GraphQLResponse).errors?.[0]?.extensions?.code).toBe("SERVICE_UNAVAILABLE");

      // food → users (who is topped up): calls that reach nothing open food's own breaker for users.
      const topUps = await Promise.all([1, 2, 3].map(() => call(TOP_UP, admin, { u: student.id })));
      for (const r of topUps) expect(codes(r)).toEqual(["SERVICE_UNAVAILABLE"]);
      await vi.waitFor(async () => expect(await breakerState("food", "users")).toBe(2), {
        timeout: 10_000,
        interval: 100,
      });
      const started = performance.now();
      const answeredByBreaker = await call(TOP_UP, admin, { u: student.id });
      measured.topUpWithFoodUsersBreakerOpenMs = Math.round(performance.now() - started);
      expect(codes(answeredByBreaker)).toEqual(["SERVICE_UNAVAILABLE"]);
      expect(answeredByBreaker.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      const restarted = system.start("users");
      usersReady = await readyAt("users");
      await restarted;
    }
    // Back: food's breaker for users closes at its next probe, and top-ups work again.
    await vi.waitFor(async () => expect((await call(TOP_UP, admin, { u: student.id })).errors).toBeUndefined(), {
      timeout: 10_000,
      interval: 100,
    });
    measured.secondsFromUsersReadyToTopUp = (Date.now() - usersReady) / 1000;
    expect(await breakerState("food", "users")).toBe(0);
    expect(await transitions("closed", ["food"], "users")).toBeGreaterThanOrEqual(1);
    // The keys are fresh again and a forged token is a plain 401.
    await sleep(1_200);
    const back = await call(`{ me { name } }`, student.token);
    expect(back.data?.me?.name).toBe("Faulty Student");
  }, 60_000);
});

describe("a graceful restart under load", () => {
  test("fails none of the requests the gateway accepted, mutations included", async () => {
    const load = startLoad(6, (client, sequence) =>
      client === 0
        ? call(`mutation($i: BuyMealInput!) { buyMeal(input: $i) { id status } }`, student.token, {
            i: { mealId, quantity: 1, idempotencyKey: `restart-${sequence}` },
          })
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
    const { rows } = await withDatabase(system.databaseUrls.food, (db) =>
      db.query(`SELECT count(*)::int AS n FROM food_orders WHERE idempotency_key LIKE 'restart-%'`),
    );
    expect(rows[0].n).toBe(buys); // each purchase made exactly once
  }, 30_000);
});

describe("database connections terminated under load", () => {
  test("only retryable codes while it happens, nothing half-written, recovery without a restart", async () => {
    const before = await foodBooks();
    const load = startLoad(6, (client, sequence) =>
      client < 2
        ? call(`mutation($i: BuyMealInput!) { buyMeal(input: $i) { id status } }`, student.token, {
            i: { mealId, quantity: 1, idempotencyKey: `terminate-${client}-${sequence}` },
          })
        : call(`{ meals { id } myOrders { id } }`, student.token),
    );
    for (let i = 0; i < 6; i += 1) {
      await sleep(150);
      await withDatabase("postgres://postgres@127.0.0.1:5432/postgres", (db) =>
        db.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [new URL(system.databaseUrls.food).pathname.slice(1)],
        ),
      );
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
