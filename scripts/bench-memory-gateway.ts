// npm run bench:memory:gateway: whether the gateway's memory stays flat under a long, varied load.
// Starts the federation as separate processes on real Postgres (e2e/src/processes.ts: each
// service from its main.ts, as its container runs it), registers 1 000 students with money and
// a few meals, then drives the gateway over HTTP for BENCH_MINUTES (default 10) with rotating
// viewers: dashboards under 50 operation names, orders, purchases (each with a new idempotency
// key), course searches, notifications, token refreshes, and — about three requests in ten —
// automatic persisted queries and one-off documents never sent twice (what fills the document,
// query-plan and APQ caches up to their bounds within the first minutes).
// Every minute it prints the gateway process's RSS (/proc/<pid>/status), its V8 heap and its
// caches (from its /metrics), then a verdict over the second half of the run.
//   BENCH_MINUTES=2 npm run bench:memory:gateway
//   BENCH_VIEWERS=1000 BENCH_CONNECTIONS=8
//   COMPILED_OPERATIONS=off, CACHE=on: the gateway started with them (to compare its memory)
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { PROCESS_ADMIN, startProcesses } from "@pooya/e2e";

const minutes = Number(process.env.BENCH_MINUTES ?? 10);
const viewerCount = Number(process.env.BENCH_VIEWERS ?? 1_000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
/** Flat: over the second half, RSS grows by at most this per minute and ends within FLAT_PERCENT of where it began. */
const FLAT_MB_PER_MINUTE = 2;
const FLAT_PERCENT = 5;
const MB = 1024 * 1024;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of a dozen shapes, read as untyped JSON like the tests
type AnswerData = Record<string, any>;
type Answer = {
  status: number;
  data?: AnswerData | null;
  errors?: { message: string; extensions?: { code?: string } }[];
};

const federation = await startProcesses({
  readyTimeoutMs: 180_000, // six processes starting at once on a busy machine
  env: {
    LOG_LEVEL: "warn",
    // Every client of the bench is 127.0.0.1: per-client limits would throttle the bench itself.
    LOGIN_LIMIT_PER_CLIENT: "1000000",
    REGISTER_LIMIT_PER_CLIENT: "1000000",
    REFRESH_LIMIT_PER_CLIENT: "1000000",
    // The gateway's settings to compare, taken from this script's environment when set.
    ...Object.fromEntries(
      ["COMPILED_OPERATIONS", "CACHE"].flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])),
    ),
  },
});
const gateway = federation.processes.gateway;
const gatewayUrl = federation.gatewayUrl;
const metricsUrl = `${gateway.url}/metrics`;
process.on("SIGINT", () => void federation.close().then(() => process.exit(130)));

async function call(
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
  extensions?: Record<string, unknown>,
): Promise<Answer> {
  const response = await fetch(gatewayUrl, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables, ...(extensions ? { extensions } : {}) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  try {
    return { status: response.status, ...(JSON.parse(text) as object) };
  } catch {
    return {
      status: response.status,
      errors: [{ message: text.slice(0, 200), extensions: { code: `HTTP_${response.status}` } }],
    };
  }
}

/** Setup calls: retried while a service is too slow to answer (a busy machine), else they must succeed. */
async function must(query: string, variables: Record<string, unknown>, token?: string, accept: string[] = []) {
  for (let attempt = 1; ; attempt++) {
    const answer = await call(query, variables, token).catch(
      (error: Error) =>
        ({ status: 0, errors: [{ message: error.message, extensions: { code: "NETWORK" } }] }) as Answer,
    );
    const code = answer.errors?.[0]?.extensions?.code;
    if (answer.data && !answer.errors?.length) return answer.data;
    if (code && accept.includes(code)) return {};
    if (attempt >= 10 || !["GATEWAY_TIMEOUT", "SERVICE_UNAVAILABLE", "NETWORK"].includes(code ?? "")) {
      throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(answer.errors)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
  }
}

/** Runs `work` over `items`, `parallel` at a time. */
async function inParallel<T>(items: T[], parallel: number, work: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

function rssMb(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

async function gatewayMetrics() {
  const text = await (await fetch(metricsUrl)).text();
  const value = (name: string, labels = "") =>
    Number(new RegExp(`^${name}\\{${labels}[^}]*\\} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  const caches = [...text.matchAll(/^cache_entries\{cache="([^"]+)"[^}]*\} (\S+)$/gm)].map(([, name, entries]) => ({
    name: name!,
    entries: Number(entries),
    bytes: value("cache_size_bytes", `cache="${name}"`),
  }));
  return {
    heapUsed: value("nodejs_heap_size_used_bytes") / MB,
    heapTotal: value("nodejs_heap_size_total_bytes") / MB,
    caches,
  };
}

try {
  const setupStarted = Date.now();
  const progress = setInterval(
    () => console.log(`  setting up: ${viewers.filter(Boolean).length} of ${viewerCount} students`),
    30_000,
  ).unref();
  const admin = await must(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
    e: PROCESS_ADMIN.email,
    p: PROCESS_ADMIN.password,
  });
  const adminToken = admin.login.accessToken as string;
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const mealIds: string[] = [];
  for (let i = 0; i < 12; i++) {
    const added = await must(
      `mutation($i: AddMealInput!) { addMeal(input: $i) { id } }`,
      {
        i: {
          name: `Meal ${i}`,
          mealType: ["BREAKFAST", "LUNCH", "DINNER"][i % 3],
          price: 1 + i,
          servingDate: day(2 + (i % 4)),
          stock: 100_000,
        },
      },
      adminToken,
    );
    mealIds.push(added.addMeal.id as string);
  }
  const run = randomUUID().slice(0, 8);
  const viewers: { id: string; token: string; refreshToken: string; at: number }[] = [];
  await inParallel(
    Array.from({ length: viewerCount }, (_, i) => i),
    4,
    async (i) => {
      const email = `bench-${run}-${i}@uni.example`;
      const password = `bench password ${i}`;
      // One password hash per student (register signs in too). CONFLICT: registered by an attempt
      // that timed out; then a login (a second hash check) gets the tokens.
      const registered = await must(
        `mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }`,
        { i: { email, password, name: `Student ${i}` } },
        undefined,
        ["CONFLICT"],
      );
      const login =
        registered.register ??
        (
          await must(
            `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id } } }`,
            { e: email, p: password },
          )
        ).login;
      await must(
        `mutation($u: ID!) { topUpWallet(userId: $u, amount: 1000000) { balance } }`,
        { u: login.user.id },
        adminToken,
      );
      viewers[i] = {
        id: login.user.id as string,
        token: login.accessToken as string,
        refreshToken: login.refreshToken as string,
        at: Date.now(),
      };
    },
  );
  clearInterval(progress);
  console.log(
    `federation on Postgres, gateway pid ${gateway.child.pid}; ${viewerCount} students and ${mealIds.length} meals set up in ${((Date.now() - setupStarted) / 1000).toFixed(0)} s`,
  );

  // The operations, picked at random per request; each viewer in turn.
  let oneOff = 0;
  const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)]!;
  const searches = ["CS", "math", "intro", "a", "101", "data", "phys", "lab", "x", "algebra"];
  type Operation = (viewer: (typeof viewers)[number]) => Promise<Answer>;
  const operations: [weight: number, name: string, Operation][] = [
    [
      30,
      "dashboard",
      (v) =>
        call(
          `query Dashboard${Math.floor(Math.random() * 50)}($from: Date, $to: Date) { me { id name wallet { balance } } meals(from: $from, to: $to) { id name price stock mealType } }`,
          { from: day(Math.floor(Math.random() * 3)), to: day(3 + Math.floor(Math.random() * 5)) },
          v.token,
        ),
    ],
    [
      20,
      "buyMeal",
      (v) =>
        call(
          `mutation Buy($i: BuyMealInput!) { buyMeal(input: $i) { id status totalPrice meal { name } } }`,
          { i: { mealId: pick(mealIds), quantity: 1 + Math.floor(Math.random() * 3), idempotencyKey: randomUUID() } },
          v.token,
        ),
    ],
    [
      10,
      "myOrders",
      (v) =>
        call(`query Orders { myOrders { id status quantity totalPrice meal { id name servingDate } } }`, {}, v.token),
    ],
    [
      10,
      "courses",
      (v) =>
        call(
          `query Courses($s: String, $n: Int) { courses(search: $s, first: $n) { totalCount edges { node { id code title } } } }`,
          { s: pick(searches), n: 1 + Math.floor(Math.random() * 20) },
          v.token,
        ),
    ],
    [5, "user", (v) => call(`query Self($id: ID!) { user(id: $id) { id name email role } }`, { id: v.id }, v.token)],
    [5, "markAllRead", (v) => call(`mutation Read { markAllNotificationsRead }`, {}, v.token)],
    [
      25,
      "one-off document",
      (v) => {
        const n = oneOff++;
        return call(
          `query OneOff${n} { m${n}: meal(id: "${pick(mealIds)}") { id name price } me { id } }`,
          {},
          v.token,
        );
      },
    ],
    [
      10,
      "persisted query",
      (v) => {
        const n = oneOff++;
        const query = `query Persisted${n} { p${n}: meals { id name } }`;
        return call(query, {}, v.token, {
          persistedQuery: { version: 1, sha256Hash: createHash("sha256").update(query).digest("hex") },
        });
      },
    ],
    [
      5,
      "refreshToken",
      async (v) => {
        const answer = await call(
          `mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }`,
          { t: v.refreshToken },
        );
        if (answer.data?.refreshToken)
          Object.assign(v, {
            token: answer.data.refreshToken.accessToken,
            refreshToken: answer.data.refreshToken.refreshToken,
            at: Date.now(),
          });
        return answer;
      },
    ],
  ];
  const totalWeight = operations.reduce((sum, [weight]) => sum + weight, 0);
  const chooseOperation = () => {
    let r = Math.random() * totalWeight;
    for (const entry of operations) if ((r -= entry[0]) < 0) return entry;
    return operations[0]!;
  };

  let requests = 0;
  const failures = new Map<string, number>();
  let nextViewer = 0;
  const endAt = Date.now() + minutes * 60_000;
  const worker = async () => {
    while (Date.now() < endAt) {
      const viewer = viewers[nextViewer++ % viewers.length]!;
      const [, name, operation] = chooseOperation();
      try {
        const answer = await operation(viewer);
        const code = answer.errors?.[0]?.extensions?.code;
        if (answer.status >= 500 || code)
          failures.set(
            `${name}: ${code ?? `HTTP ${answer.status}`}`,
            (failures.get(`${name}: ${code ?? `HTTP ${answer.status}`}`) ?? 0) + 1,
          );
      } catch (error) {
        failures.set(`${name}: ${(error as Error).name}`, (failures.get(`${name}: ${(error as Error).name}`) ?? 0) + 1);
      }
      requests += 1;
    }
  };

  const before = await gatewayMetrics();
  const samples: { minute: number; rss: number }[] = [{ minute: 0, rss: rssMb(gateway.child.pid!) }];
  console.log(`\nload: ${connections} connections, ${viewerCount} rotating viewers, ${minutes} min`);
  console.log(`minute  RSS MB  heap used / total MB  req/min  failures  caches (entries, MB)`);
  console.log(
    `${"0".padStart(6)}  ${samples[0]!.rss.toFixed(0).padStart(6)}  ${`${before.heapUsed.toFixed(0)} / ${before.heapTotal.toFixed(0)}`.padStart(20)}`,
  );
  const load = Promise.all(Array.from({ length: connections }, worker));
  let lastRequests = 0;
  for (let minute = 1; minute <= minutes; minute++) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, endAt - (minutes - minute) * 60_000 - Date.now())));
    const rss = rssMb(gateway.child.pid!);
    const now = await gatewayMetrics();
    samples.push({ minute, rss });
    const failed = [...failures.values()].reduce((a, b) => a + b, 0);
    const caches = now.caches.map((c) => `${c.name} ${c.entries} ${(c.bytes / MB).toFixed(1)}`).join(", ");
    console.log(
      `${String(minute).padStart(6)}  ${rss.toFixed(0).padStart(6)}  ${`${now.heapUsed.toFixed(0)} / ${now.heapTotal.toFixed(0)}`.padStart(20)}  ${String(requests - lastRequests).padStart(7)}  ${String(failed).padStart(8)}  ${caches}`,
    );
    lastRequests = requests;
  }
  await load;
  if (failures.size) console.log(`failures: ${[...failures].map(([what, n]) => `${what} ×${n}`).join("; ")}`);

  // The verdict over the second half (warm-up over): growth per minute, and the end against its start.
  const half = samples.filter((s) => s.minute >= Math.ceil(minutes / 2));
  const first = half[0]!,
    last = half.at(-1)!;
  const perMinute = last.minute > first.minute ? (last.rss - first.rss) / (last.minute - first.minute) : 0;
  const percent = ((last.rss - first.rss) / first.rss) * 100;
  const flat = perMinute <= FLAT_MB_PER_MINUTE && percent <= FLAT_PERCENT;
  console.log(
    `\n${requests} requests. RSS over minutes ${first.minute}–${last.minute}: ${first.rss.toFixed(0)} → ${last.rss.toFixed(0)} MB (${perMinute >= 0 ? "+" : ""}${perMinute.toFixed(1)} MB/min, ${percent >= 0 ? "+" : ""}${percent.toFixed(1)} %), max ${Math.max(...samples.map((s) => s.rss)).toFixed(0)} MB`,
  );
  console.log(
    `verdict: ${flat ? "FLAT" : "GROWING"} (flat: at most +${FLAT_MB_PER_MINUTE} MB/min and +${FLAT_PERCENT} % over the second half)`,
  );
  process.exitCode = flat ? 0 : 1;
} finally {
  await federation.close();
}
