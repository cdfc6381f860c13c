// npm run bench: our gateway side by side with stock Apollo Gateway, Hive Gateway (JS query
// planner, and its Rust router runtime) and Grafbase (Rust, its CLI's `grafbase dev`), on the same
// subgraphs (separate processes, real Postgres) and the same data, interleaved (A B C D, A B C D,
// …). Gateways and subgraphs run on core 0, the load (autocannon, its own process) on core 1
// (BENCH_CORES moves that line). Prints req/s, p50/p99, and per request the CPU milliseconds of
// the gateway, of the subgraphs together and of Postgres (the backends serving the bench's
// databases), each run's and the medians, with ratios against ours in the same round; checks
// first that every candidate answers each query with the same JSON (a faster wrong answer does
// not count).
// "ours" runs with CACHE=off; "ours-cached" is a second gateway of ours with CACHE=on (the entity
// cache, in-process), warm: each run is preceded by a 1 s warm-up of the same query, as every
// candidate's is.
// Every gateway gets the subgraphs' answers uncompressed: a subgraph never compresses (its callers
// are services on the internal network), whatever the gateway's HTTP client accepts (the peers'
// ask for gzip by default, Grafbase's header rules cannot change that).
// The peers are benchmark-only: bench/package.json, installed here on first use (or when one is
// missing); stock Apollo runs bench/'s own @apollo/server, which patches/ does not touch.
//   BENCH_SECONDS (10) per run, BENCH_CONNECTIONS (10), BENCH_ROUNDS (3), BENCH_SIZES (20,200,1000),
//   BENCH_CANDIDATES (ours,ours-cached,apollo,hive,hive-router,grafbase), BENCH_QUERIES (Q1,Q2,Q3),
//   BENCH_SMOKE=1: 2 s, one round, 20 and 200. BENCH_PROFILE_DIR: every service writes a V8 CPU
//   profile there on exit.
//   BENCH_QUIET_MS (100, smoke 250): subgraph CPU per 2 s below which the seed's events count as consumed.
//   BENCH_NODE_OPTIONS: Node flags for our gateway and subgraphs, as NODE_OPTIONS (a flag a service
//   already starts with, see nodeFlagsOf, keeps its own value).
//   BENCH_VARIANT_NODE_OPTIONS: adds "ours-variant", a second gateway of ours started with these
//   Node options (instead of its own flags), in the same run as the others. BENCH_VARIANT_ENV
//   ("NAME=value NAME=value"): the same with other variables, e.g. AUTHORIZATION_DIRECTIVES=subgraphs.
//   BENCH_CORES (1): the gateways and subgraphs run on cores 0 … N-1, the load on core N (on all
//   of them when N is every core). BENCH_GATEWAY_PROCESSES (1): each gateway runs as N processes
//   on one port, as replicas on one machine would: ours and stock Apollo with SO_REUSEPORT (ours:
//   REUSE_PORT), Hive with its own `--fork N` (node:cluster), Grafbase as its one process (it
//   runs a thread per core it may use); a candidate's CPU and RSS are its processes' together.
//   With both, throughput per core count: how the system scales across cores.
//   BENCH_MEMORY_LIMIT_MB: every gateway and subgraph runs under a memory limit of its own, as in
//   a container (a memory cgroup it joins before Node starts, so V8 sizes its heap and young
//   generation from the limit; Linux, as root). "gw RSS MiB" is each gateway's peak resident
//   size during its timed runs, limited or not; the subgraphs' peaks are printed after the table.
// Each run starts once the system's cores are idle again (what the previous candidate still had
// in flight is done).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createIdentityAssertionSigner, signingKeyFromJwk } from "@pooya/identity";
import { createMemoryLimit, peakRssMb, resetPeakRss, type MemoryLimit } from "./lib/memory-limit.ts";
import { cpuMs, postgresBackendsMeter, running, withChildren } from "./lib/process-cpu.ts";
import {
  PROCESS_ADMIN,
  freePort,
  insertStudents,
  postGraphQL,
  spawnService,
  startProcesses,
  stopProcess,
  waitUntilReady,
  type ServiceProcess,
} from "@pooya/e2e";
import { SUPERGRAPH_PATH, forApolloGateway } from "@pooya/gateway";
import { SUBGRAPH_NAMES, nodeFlagsOf, subgraphSchemaPath } from "@pooya/system";

const root = fileURLToPath(new URL("../", import.meta.url));
const benchDir = join(root, "bench");
const smoke = process.env.BENCH_SMOKE === "1";
const seconds = Number(process.env.BENCH_SECONDS ?? (smoke ? 2 : 10));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? (smoke ? 1 : 3));
const sizes = (process.env.BENCH_SIZES ?? (smoke ? "20,200" : "20,200,1000")).split(",").map(Number);
const wanted = (process.env.BENCH_CANDIDATES ?? "ours,ours-cached,apollo,hive,hive-router,grafbase").split(",");
const queryKinds = (process.env.BENCH_QUERIES ?? "Q1,Q2,Q3").split(",");
const profileDir = process.env.BENCH_PROFILE_DIR;
const memoryLimitMb = Number(process.env.BENCH_MEMORY_LIMIT_MB ?? 0);
const cores = Number(process.env.BENCH_CORES ?? 1);
const gatewayProcesses = Number(process.env.BENCH_GATEWAY_PROCESSES ?? 1);
if (!(Number.isInteger(cores) && cores >= 1 && cores <= availableParallelism()))
  throw new Error(`BENCH_CORES: 1 … ${availableParallelism()} (this machine's cores)`);
if (!(Number.isInteger(gatewayProcesses) && gatewayProcesses >= 1))
  throw new Error("BENCH_GATEWAY_PROCESSES: 1 or more");
/** Where gateways and subgraphs run, and where the load generator does (a core of its own while one is left). */
const systemCores = cores === 1 ? "0" : `0-${cores - 1}`;
const loadCores = cores < availableParallelism() ? String(cores) : systemCores;
/** Each process's own memory limit (BENCH_MEMORY_LIMIT_MB), by gateway candidate or subgraph. */
const memoryLimits = new Map<string, MemoryLimit>();
const limitFor = (name: string): string[] => {
  if (!memoryLimitMb) return [];
  const limit = createMemoryLimit(`pooya-bench-${name}`, memoryLimitMb);
  memoryLimits.set(name, limit);
  return limit.prefix;
};

const peerPackages = Object.keys(
  (JSON.parse(readFileSync(join(benchDir, "package.json"), "utf8")) as { dependencies: Record<string, string> })
    .dependencies,
);
if (!peerPackages.every((name) => existsSync(join(benchDir, "node_modules", name, "package.json")))) {
  console.log("installing the benchmark's peers (bench/package.json) …");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: benchDir, stdio: "inherit" });
}
// Stock Apollo is stock: bench/'s own @apollo/server, not the root's (patches/ changes that one
// for our gateway). Refuse to run it on a patched or shared copy.
{
  const entry = createRequire(join(benchDir, "stock-apollo-gateway.mjs")).resolve("@apollo/server");
  const serverDir = join(benchDir, "node_modules", "@apollo", "server");
  const patched = readFileSync(join(serverDir, "dist/esm/utils/makeGatewayGraphQLRequestContext.js"), "utf8").includes(
    "GatewayResponseHttp",
  );
  if (!entry.startsWith(serverDir) || patched)
    throw new Error(`stock Apollo would run a patched or shared @apollo/server (${entry})`);
}

/** Pins every thread of a process (V8's GC and compiler threads, libuv's pool), not only its main one, to the system's cores. */
const pin = (pid: number) => spawnSync("taskset", ["-a", "-cp", systemCores, String(pid)], { stdio: "ignore" });
/** CPU ms that `pids` use together in `ms`. */
async function cpuUsedIn(all: number[], ms: number): Promise<number> {
  const pids = all.filter(running);
  const before = pids.map(cpuMs);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return pids.reduce((sum, pid, i) => sum + cpuMs(pid) - before[i]!, 0);
}
/**
 * Waits until `pids` together use no more CPU per 250 ms than `idleMs` (what they use when
 * nothing is asked of them, measured before the runs), for up to 60 s. A gateway still has up
 * to BENCH_CONNECTIONS requests in flight when its load ends, and a slow one computes them for
 * seconds (Hive's JS planner: 0.6 s each on Q3-1000): that work must not run on the system's
 * cores while the next candidate is measured. Resolves with the wait.
 */
async function settle(pids: number[], idleMs: number): Promise<number> {
  const started = Date.now();
  while ((await cpuUsedIn(pids, 250)) > idleMs && Date.now() - started < 60_000);
  return Date.now() - started;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

console.log("starting the subgraphs and our gateway as separate processes on real Postgres …");
const nodeOptions = [profileDir ? `--cpu-prof --cpu-prof-dir=${profileDir}` : "", process.env.BENCH_NODE_OPTIONS ?? ""]
  .join(" ")
  .trim();
// Several gateway processes share one port: ours listens with SO_REUSEPORT then (every service
// gets the variable; only the gateway has a second process).
const reusePort = gatewayProcesses > 1 ? { REUSE_PORT: "true" } : {};
// Ours without the entity cache (CACHE=off, read by the gateway only): the comparison with
// gateways that cache nothing stays like for like; "ours-cached" below has it on.
const system = await startProcesses({
  env: {
    LOG_LEVEL: "warn",
    CACHE: "off",
    ...reusePort,
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  },
  prefixOf: (name) => limitFor(name === "gateway" ? "ours" : name),
  // Node compiles each service's TypeScript as it starts: minutes on a machine busy with other work.
  readyTimeoutMs: 120_000,
});
const peers: ServiceProcess[] = [];
/** The peers' files of this run (their supergraph, grafbase.toml and Grafbase's home). */
let work: string | undefined;
try {
  const subgraphs = Object.entries(system.processes)
    .filter(([name]) => name !== "gateway")
    .map(([name, p]) => ({ name, pid: p.child.pid! }));
  for (const p of Object.values(system.processes)) pin(p.child.pid!);

  // Data: a teacher's courses of each size, every student enrolled, ten days of roll calls,
  // a wallet and two meal orders each.
  const gatewayUrl = system.gatewayUrl;
  const call = async (query: string, variables: Record<string, unknown>, token?: string) => {
    const r = await postGraphQL(gatewayUrl, { query, variables, ...(token ? { token } : {}) });
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!;
  };
  const staff = (
    await call(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`, {
      e: PROCESS_ADMIN.email,
      p: PROCESS_ADMIN.password,
    })
  ).login as { accessToken: string; user: { id: string } };
  const teacher = (
    await call(
      `mutation { createUser(input: { email: "bench.teacher@uni.example", password: "bench password 1", name: "Bench Teacher", role: TEACHER }) { id } }`,
      {},
      staff.accessToken,
    )
  ).createUser as { id: string };
  const usersDb = new pg.Pool({ connectionString: system.databaseUrls.users, max: 1 });
  usersDb.on("error", () => undefined); // an idle connection ended by the server: the next query opens another
  // The gateway's key: peers get assertions signed with it, and students buy their meals with one.
  const signingKey = await signingKeyFromJwk(JSON.parse(system.envOf("gateway").GATEWAY_SIGNING_KEY!));
  const signAssertion = createIdentityAssertionSigner(signingKey);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const meal = (
    await call(
      `mutation($d: Date!) { addMeal(input: { name: "Bench stew", mealType: LUNCH, servingDate: $d, price: 700, stock: 100000 }) { id } }`,
      { d: tomorrow },
      staff.accessToken,
    )
  ).addMeal as { id: string };
  // Students made in bulk have no password; each buys as itself through the food subgraph.
  const buy = async (studentId: string, key: string) => {
    const response = await fetch(`${system.processes.food.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-identity-assertion": await signAssertion({ userId: studentId, role: "STUDENT" }, "127.0.0.1"),
      },
      body: JSON.stringify({
        query: `mutation($i: BuyMealInput!) { buyMeal(input: $i) { id } }`,
        variables: { i: { mealId: meal.id, quantity: 1, idempotencyKey: key } },
      }),
    });
    const body = (await response.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
  };
  const courses: Record<number, string> = {};
  for (const size of sizes) {
    const course = (
      await call(
        `mutation($t: ID!, $c: String!, $n: Int!) { createCourse(input: { code: $c, title: "Bench", capacity: $n, teacherId: $t }) { id } }`,
        { t: teacher.id, c: `B${size}`, n: size },
        staff.accessToken,
      )
    ).createCourse as { id: string };
    courses[size] = course.id;
    const students = await insertStudents({ db: { users: usersDb } }, size);
    for (let i = 0; i < students.length; i += 25) {
      await Promise.all(
        students.slice(i, i + 25).map(async (s) => {
          await call(
            `mutation($c: ID!, $s: ID) { enroll(courseId: $c, studentId: $s) { id } }`,
            { c: course.id, s },
            staff.accessToken,
          );
          await call(
            `mutation($u: ID!) { topUpWallet(userId: $u, amount: 5000) { balance } }`,
            { u: s },
            staff.accessToken,
          );
          await buy(s, `bench-${s}-1`);
          await buy(s, `bench-${s}-2`);
        }),
      );
    }
    for (let day = 1; day <= 10; day++) {
      const date = new Date(Date.now() - day * 86_400_000).toISOString().slice(0, 10);
      const statuses = ["PRESENT", "PRESENT", "PRESENT", "LATE", "ABSENT"];
      for (let i = 0; i < students.length; i += 500) {
        const marks = students
          .slice(i, i + 500)
          .map((studentId, j) => ({ studentId, status: statuses[(i + j + day) % statuses.length] }));
        await call(
          `mutation($i: MarkCourseAttendanceInput!) { markCourseAttendance(input: $i) { id } }`,
          { i: { courseId: course.id, date, marks } },
          staff.accessToken,
        );
      }
    }
    console.log(`  course of ${size}: enrolled, topped up, two meal orders each, 10 roll calls`);
  }

  await usersDb.end();

  // The peers: the same supergraph with the subgraphs' real addresses.
  work = await mkdtemp(join(tmpdir(), "pooya-bench-"));
  const supergraphPath = join(work, "supergraph.graphql");
  writeFileSync(
    supergraphPath,
    // Without `for: SECURITY`: stock Apollo Gateway refuses security features it does not enforce.
    forApolloGateway(readFileSync(SUPERGRAPH_PATH, "utf8")).replace(
      /@join__graph\(name: "(\w+)", url: "[^"]+"\)/g,
      (_m, name: string) =>
        `@join__graph(name: "${name}", url: "${system.processes[name as keyof typeof system.processes].url}/graphql")`,
    ),
  );
  /** `pids`: the candidate's processes now (a Hive primary's workers are found as they run). */
  const candidates: {
    name: string;
    url: string;
    pids: () => number[];
    headers: () => Promise<Record<string, string>>;
  }[] = [];
  const json = { "content-type": "application/json" };
  // Peers pass on an assertion the load generator carries, signed fresh for each run (they live 60 s).
  const peerHeaders = async () => ({
    ...json,
    "x-identity-assertion": await signAssertion({ userId: staff.user.id, role: "STAFF" }, "127.0.0.1"),
  });
  const oursHeaders = async () => ({ ...json, authorization: `Bearer ${staff.accessToken}` });
  if (wanted.includes("ours")) {
    // More processes of our gateway on its port, started as the first was (its variables, its Node flags).
    const ourPids = [system.processes.gateway.child.pid!];
    for (let i = 2; i <= gatewayProcesses; i++) {
      const replica = spawnService("gateway", "gateway/src/main.ts", system.envOf("gateway"), system.ports.gateway, {
        nodeArgs: nodeFlagsOf("gateway"),
        prefix: limitFor(`ours-${i}`),
      });
      await waitUntilReady(replica);
      pin(replica.child.pid!);
      peers.push(replica);
      ourPids.push(replica.child.pid!);
    }
    candidates.push({ name: "ours", url: gatewayUrl, pids: () => ourPids, headers: oursHeaders });
  }
  /**
   * Another gateway of ours beside the first, on a port of its own, with `env` on top of the
   * first's variables and, when given, other Node options (instead of its own flags), measured
   * in the same run (interleaved, same subgraphs).
   */
  const spawnOurs = async (name: string, env: Record<string, string>, nodeOptions?: string) => {
    const port = await freePort();
    const gateway = spawnService(
      "gateway",
      "gateway/src/main.ts",
      { ...system.envOf("gateway"), PORT: String(port), ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}), ...env },
      port,
      // Node flags: its own, or, when only variables differ, the same as ours.
      { prefix: limitFor(name), ...(nodeOptions ? {} : { nodeArgs: nodeFlagsOf("gateway") }) },
    );
    peers.push(gateway);
    await waitUntilReady(gateway);
    pin(gateway.child.pid!);
    candidates.push({
      name,
      url: `http://127.0.0.1:${port}/graphql`,
      pids: () => [gateway.child.pid!],
      headers: oursHeaders,
    });
  };
  // Ours with the entity cache on (in-process: no REDIS_URL), warmed by each run's warm-up.
  if (wanted.includes("ours-cached")) await spawnOurs("ours-cached", { CACHE: "on" });
  // A second gateway of ours with other Node flags or variables: how a flag is judged when runs
  // differ by ±30 % from one to the next.
  const variantOptions = process.env.BENCH_VARIANT_NODE_OPTIONS;
  const variantEnv = Object.fromEntries(
    (process.env.BENCH_VARIANT_ENV ?? "")
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
  if (variantOptions || Object.keys(variantEnv).length) await spawnOurs("ours-variant", variantEnv, variantOptions);
  /**
   * Starts a peer on a port of its own: as BENCH_GATEWAY_PROCESSES processes, each listening with
   * SO_REUSEPORT (REUSE_PORT), or, with `forks`, as one process that starts its own workers
   * (they are found as its children). Ready once every process has said so (`readyLine`) or,
   * with one, once it answers. `command`: the program and its arguments, `$PORT` for the port.
   */
  const spawnPeer = async (name: string, command: string[], options: { readyLine?: string; forks?: boolean } = {}) => {
    const port = await freePort();
    const count = options.forks ? 1 : gatewayProcesses;
    const url = `http://127.0.0.1:${port}/graphql`;
    const pids: number[] = [];
    for (let i = 1; i <= count; i++) {
      const [program, ...programArgs] = [
        ...limitFor(i === 1 ? name : `${name}-${i}`),
        ...command.map((a) => a.replace("$PORT", String(port))),
      ];
      const env = {
        PATH: process.env.PATH,
        PORT: String(port),
        SUPERGRAPH_PATH: supergraphPath,
        ...(count > 1 ? { REUSE_PORT: "true" } : {}),
      };
      const child = spawn(program!, programArgs, { cwd: benchDir, env, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (c) => (output += c));
      child.stderr.on("data", (c) => (output += c));
      peers.push({ child, exited: new Promise((resolve) => child.once("exit", resolve)) } as unknown as ServiceProcess);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ok =
          count > 1 && options.readyLine
            ? output.includes(options.readyLine)
            : await fetch(url, {
                method: "POST",
                headers: json,
                body: JSON.stringify({ query: "{ __typename }" }),
              }).then(
                (r) => r.ok,
                () => false,
              );
        if (ok) break;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      pids.push(child.pid!);
    }
    const processes = () => (options.forks ? withChildren(pids[0]!) : pids);
    for (const pid of processes()) pin(pid);
    candidates.push({ name, url, pids: processes, headers: peerHeaders });
  };
  const hiveBin = join(benchDir, "node_modules/@graphql-hive/gateway/dist/bin.js");
  // Hive Gateway runs several processes as node:cluster workers of one primary (its --fork).
  const hiveArgs = [
    "supergraph",
    supergraphPath,
    "--port",
    "$PORT",
    "--host",
    "127.0.0.1",
    "-c",
    join(benchDir, "hive-gateway.config.mjs"),
    ...(gatewayProcesses > 1 ? ["--fork", String(gatewayProcesses)] : []),
  ];
  if (wanted.includes("apollo"))
    await spawnPeer("apollo", [process.execPath, join(benchDir, "stock-apollo-gateway.mjs")], {
      readyLine: "stock Apollo Gateway ready",
    });
  if (wanted.includes("hive")) await spawnPeer("hive", [process.execPath, hiveBin, ...hiveArgs], { forks: true });
  if (wanted.includes("hive-router"))
    await spawnPeer("hive-router", [process.execPath, hiveBin, ...hiveArgs, "--hive-router-runtime"], { forks: true });
  if (wanted.includes("grafbase")) {
    // Grafbase composes the subgraphs' SDL itself (the files `npm run compose` reads) and calls
    // them at the addresses of this run. It is its CLI's dev mode (a file watcher and a UI beside
    // the engine; the standalone gateway binary is not on npm). It starts on the system's cores
    // already, so its runtime sizes its thread pool to them.
    const toml = [
      ...SUBGRAPH_NAMES.flatMap((name) => [
        `[subgraphs.${name}]`,
        `url = ${JSON.stringify(`${system.processes[name].url}/graphql`)}`,
        `schema_path = ${JSON.stringify(subgraphSchemaPath(name))}`,
        "",
      ]),
      "# The identity assertion the load generator carries, passed on (the subgraphs require one).",
      "[[headers]]",
      'rule = "forward"',
      'name = "x-identity-assertion"',
      "",
      "# Every request of a run is the same: identical concurrent subgraph requests would otherwise",
      "# share one call (on by default; off for Hive too), and the comparison would not be like for like.",
      "[traffic_shaping]",
      "inflight_deduplication = false",
      "",
    ].join("\n");
    writeFileSync(join(work, "grafbase.toml"), toml);
    const grafbaseBin = join(benchDir, "node_modules/@grafbase/cli-x86_64-unknown-linux-musl/grafbase");
    await spawnPeer(
      "grafbase",
      [
        "taskset",
        "-c",
        systemCores,
        grafbaseBin,
        "--home",
        join(work, "grafbase-home"),
        "dev",
        "-c",
        join(work, "grafbase.toml"),
        "-p",
        "$PORT",
      ],
      { forks: true },
    );
  }

  const allQueries = [
    { name: "Q1 me { id name role }", body: { query: `{ me { id name role } }` } },
    ...sizes.map((size) => ({
      name: `Q2 course of ${size}: students' name, email`,
      body: {
        query: `query($id: ID!) { course(id: $id) { code students { name email } } }`,
        variables: { id: courses[size] },
      },
    })),
    ...sizes.map((size) => ({
      name: `Q3 dashboard, ${size} students: attendance, wallet, orders`,
      body: {
        query: `query($id: ID!) { course(id: $id) { code attendanceRate students { name attendance(courseId: $id) { date status } wallet { balance } foodOrders { totalPrice status } } } }`,
        variables: { id: courses[size] },
      },
    })),
  ];
  const queries = allQueries.filter((q) => queryKinds.some((kind) => q.name.startsWith(`${kind} `)));

  // Same answer from every candidate, or the numbers mean nothing. Each is asked twice: the
  // second answer of a caching gateway comes from its cache. Each candidate's second answer, byte
  // for byte, is what every answer of its load runs must be (autocannon counts those that differ).
  let wrong = 0;
  const expectedBody = new Map<string, string>();
  const ask = async (c: (typeof candidates)[number], body: object) => {
    const response = await fetch(c.url, {
      method: "POST",
      headers: await c.headers(),
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    return response.text();
  };
  const same = (a: string, b: string) => {
    try {
      return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
    } catch {
      return false;
    }
  };
  for (const q of queries) {
    const answers = await Promise.all(candidates.map((c) => ask(c, q.body)));
    const again = await Promise.all(candidates.map((c) => ask(c, q.body)));
    for (const [i, c] of candidates.entries()) {
      expectedBody.set(`${q.name}\u0000${c.name}`, again[i]!);
      const wrongOne = (
        [
          ["", answers[i]!],
          [" (asked again)", again[i]!],
        ] as const
      ).find(([, answer]) => !same(answer, answers[0]!));
      if (wrongOne) {
        wrong += 1;
        console.log(
          `DIFFERENT ANSWER: ${c.name} on ${q.name}${wrongOne[0]}:\n  ${wrongOne[1]!.slice(0, 300)}\n  ours: ${answers[0]!.slice(0, 300)}`,
        );
      }
    }
  }
  console.log(
    `answers: ${wrong === 0 ? `identical across ${candidates.map((c) => c.name).join(", ")} for all ${queries.length} queries` : `${wrong} differ`}`,
  );

  const results = new Map<
    string,
    {
      rps: number[];
      p50: number[];
      p99: number[];
      gatewayCpu: number[];
      subgraphCpu: number[];
      databaseCpu: number[];
      perSubgraph: Record<string, number[]>;
      rssMb: number[];
      errors: number;
      /** Answers of the timed runs that differ from the candidate's checked answer. */
      wrongAnswers: number;
      /** Against ours in the same round: throughput, gateway CPU and total CPU per request. */
      vsOurs: { rps: number[]; gatewayCpu: number[]; totalCpu: number[] };
    }
  >();
  /** One load run in its own process on the load's core; killed when it overruns by a minute. */
  const load = (spec: { seconds: number } & Record<string, unknown>) =>
    new Promise<{ requests: number; rps: number; p50: number; p99: number; errors: number; mismatches: number }>(
      (resolve, reject) => {
        const child = spawn("taskset", ["-c", loadCores, process.execPath, join(benchDir, "load.mjs")], {
          stdio: ["pipe", "pipe", "pipe"],
        });
        child.stdin.end(JSON.stringify(spec));
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c) => (stdout += c));
        child.stderr.on("data", (c) => (stderr += c));
        const timer = setTimeout(() => child.kill("SIGKILL"), (spec.seconds + 60) * 1000);
        child.once("error", reject);
        child.once("close", (code) => {
          clearTimeout(timer);
          if (code !== 0) reject(new Error(`load failed (${code}): ${stderr}`));
          else resolve(JSON.parse(stdout.trim().split("\n").pop()!));
        });
      },
    );
  /** The Postgres backends of this run's databases (the names in its URLs), not the machine's other work. */
  const postgres = postgresBackendsMeter(
    new Set(Object.values(system.databaseUrls).map((url) => decodeURIComponent(new URL(url).pathname.slice(1)))),
  );
  // The seed's events (enrollments, wallets, orders, roll calls) are still being consumed for a
  // while (notifications above all): measure only once the subgraphs are quiet.
  // Quiet: the five together under BENCH_QUIET_MS (100) of CPU per 2 s, i.e. 5 % of a core (their
  // steady polling is ≈ 35); a backlog left running would take its share of the system's cores
  // from whichever candidate is measured at the time.
  // The smoke run only checks answers: 250, and at most 3 minutes of waiting.
  const quietMs = Number(process.env.BENCH_QUIET_MS ?? (smoke ? 250 : 100));
  const quietSince = Date.now();
  for (let busy = Infinity; busy > quietMs && Date.now() - quietSince < (smoke ? 180_000 : 300_000);) {
    const before = subgraphs.map((s) => cpuMs(s.pid));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const each = subgraphs.map((s, i) => cpuMs(s.pid) - before[i]!);
    busy = each.reduce((a, b) => a + b, 0);
    if (process.env.BENCH_DEBUG) console.log(subgraphs.map((s, i) => `${s.name} ${each[i]}`).join(" "));
  }
  console.log(`subgraphs quiet after ${((Date.now() - quietSince) / 1000).toFixed(0)} s`);
  // Subgraph direct: each fetch of Q3's query plan sent straight to its subgraph, one at a time
  // (no gateway, no concurrency), and the subgraph's CPU per call. Steadier than CPU under load,
  // and shows how each subgraph's cost grows with the class.
  if (queryKinds.includes("Q3")) {
    const calls = Number(process.env.BENCH_DIRECT_CALLS ?? (smoke ? 5 : 60));
    const assertion = await signAssertion({ userId: staff.user.id, role: "STAFF" }, "127.0.0.1");
    const studentsOf = async (courseId: string) =>
      (
        (await call(`query($id: ID!) { course(id: $id) { students { id } } }`, { id: courseId }, staff.accessToken))
          .course as { students: { id: string }[] }
      ).students;
    console.log(`\nsubgraph direct (Q3's fetches, ${calls} sequential calls each): CPU ms per call`);
    for (const size of sizes) {
      const users = (await studentsOf(courses[size]!)).map((s) => ({ __typename: "User", id: s.id }));
      const fetches = [
        {
          subgraph: "courses",
          query: `query($id: ID!) { course(id: $id) { code students { __typename id } } }`,
          variables: { id: courses[size] },
        },
        {
          subgraph: "users",
          query: `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { name } } }`,
          variables: { representations: users },
        },
        {
          subgraph: "attendance",
          query: `query($representations: [_Any!]!, $id: ID) { _entities(representations: $representations) { ... on User { attendance(courseId: $id) { date status } } } }`,
          variables: { representations: users, id: courses[size] },
        },
        {
          subgraph: "attendance",
          query: `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Course { attendanceRate } } }`,
          variables: { representations: [{ __typename: "Course", id: courses[size] }] },
        },
        {
          subgraph: "food",
          query: `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { wallet { balance } foodOrders { totalPrice status } } } }`,
          variables: { representations: users },
        },
      ];
      const perSubgraph = new Map<string, number>();
      for (const f of fetches) {
        const target = system.processes[f.subgraph as keyof typeof system.processes];
        const send = async () => {
          const response = await fetch(`${target.url}/graphql`, {
            method: "POST",
            headers: { ...json, "accept-encoding": "identity", "x-identity-assertion": assertion },
            body: JSON.stringify({ query: f.query, variables: f.variables }),
          });
          const body = (await response.json()) as { errors?: unknown };
          if (body.errors) throw new Error(`${f.subgraph}: ${JSON.stringify(body.errors)}`);
        };
        for (let i = 0; i < 5; i++) await send(); // compiled, warm
        const before = cpuMs(target.child.pid!);
        for (let i = 0; i < calls; i++) await send();
        perSubgraph.set(f.subgraph, (perSubgraph.get(f.subgraph) ?? 0) + (cpuMs(target.child.pid!) - before) / calls);
      }
      console.log(
        `  course of ${String(size).padEnd(5)} ${[...perSubgraph].map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(", ")}`,
      );
    }
  }

  const loadAverage = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(
    `\n${rounds} round(s), ${seconds} s per run, ${connections} connections; load average before: ${loadAverage}`,
  );
  console.log(
    `gateways and subgraphs on core${cores > 1 ? "s" : ""} ${systemCores}, the load on ${loadCores === systemCores ? "the same cores" : `core ${loadCores}`}; each gateway as ${gatewayProcesses} process${gatewayProcesses > 1 ? "es" : ""}`,
  );
  const longestSettle = { ms: 0, after: "" };
  /** Answers of the timed runs that differ from the checked ones (a GATEWAY_TIMEOUT among them). */
  let wrongUnderLoad = 0;
  // Idle: every process of the run, nothing asked of them (steady polling, a profiler's sampling),
  // over 2 s, per 250 ms; with a margin of 10 ms (the clock ticks are 10 ms).
  const everyPid = [...candidates.flatMap((c) => c.pids()), ...subgraphs.map((s) => s.pid)];
  const idleMs = (await cpuUsedIn(everyPid, 2_000)) / 8 + 10;
  console.log(`\neach run: round, query, gateway, req/s, CPU per request (ratios against ours in the same round)`);
  for (let round = 1; round <= rounds; round++) {
    /** Ours's figures in this round, by query (ours runs first). */
    const oursThisRound = new Map<string, { rps: number; gatewayCpu: number; totalCpu: number }>();
    for (const q of queries) {
      for (const c of candidates) {
        const pids = c.pids();
        if (!pids.every(running)) continue; // gone (killed for memory under BENCH_MEMORY_LIMIT_MB): the table says so
        const spec = {
          url: c.url,
          headers: await c.headers(),
          body: JSON.stringify(q.body),
          connections,
          expectBody: expectedBody.get(`${q.name}\u0000${c.name}`),
        };
        await load({ ...spec, seconds: 1 }); // warm-up: JIT, pools, caches (ours-cached's entity cache)
        for (const pid of pids) resetPeakRss(pid);
        const gatewayBefore = pids.map(cpuMs);
        const eachBefore = subgraphs.map((s) => cpuMs(s.pid));
        postgres.start();
        const r = await load({ ...spec, seconds });
        const databaseMs = postgres.stop();
        if (!pids.every(running)) {
          console.log(`  ${c.name} exited during its run on ${q.name}`);
          continue;
        }
        const each = subgraphs.map((s, i) => (cpuMs(s.pid) - eachBefore[i]!) / Math.max(1, r.requests));
        const key = `${q.name}\u0000${c.name}`;
        const entry = results.get(key) ?? {
          rps: [],
          p50: [],
          p99: [],
          gatewayCpu: [],
          subgraphCpu: [],
          databaseCpu: [],
          perSubgraph: {},
          rssMb: [],
          errors: 0,
          wrongAnswers: 0,
          vsOurs: { rps: [], gatewayCpu: [], totalCpu: [] },
        };
        const gatewayCpu =
          pids.reduce((sum, pid, i) => sum + cpuMs(pid) - gatewayBefore[i]!, 0) / Math.max(1, r.requests);
        const subgraphCpu = each.reduce((a, b) => a + b, 0);
        const databaseCpu = databaseMs / Math.max(1, r.requests);
        const run = { rps: r.rps, gatewayCpu, totalCpu: gatewayCpu + subgraphCpu + databaseCpu };
        if (c.name === "ours") oursThisRound.set(q.name, run);
        const ours = oursThisRound.get(q.name);
        if (ours) {
          entry.vsOurs.rps.push(run.rps / ours.rps);
          entry.vsOurs.gatewayCpu.push(run.gatewayCpu / ours.gatewayCpu);
          entry.vsOurs.totalCpu.push(run.totalCpu / ours.totalCpu);
        }
        entry.rssMb.push(pids.reduce((sum, pid) => sum + peakRssMb(pid), 0));
        entry.rps.push(r.rps);
        entry.p50.push(r.p50);
        entry.p99.push(r.p99);
        entry.gatewayCpu.push(gatewayCpu);
        entry.subgraphCpu.push(subgraphCpu);
        entry.databaseCpu.push(databaseCpu);
        for (const [i, s] of subgraphs.entries()) (entry.perSubgraph[s.name] ??= []).push(each[i]!);
        entry.errors += r.errors;
        entry.wrongAnswers += r.mismatches;
        wrongUnderLoad += r.mismatches;
        results.set(key, entry);
        console.log(
          `  ${round} ${q.name.padEnd(52)} ${c.name.padEnd(12)} ${r.rps.toFixed(0).padStart(6)} req/s, CPU ms/req: gateway ${gatewayCpu.toFixed(2)}, subgraphs ${subgraphCpu.toFixed(2)}, Postgres ${databaseCpu.toFixed(2)}, total ${run.totalCpu.toFixed(2)}${
            ours && c.name !== "ours"
              ? `; vs ours: ${(run.rps / ours.rps).toFixed(2)}× req/s, ${(run.gatewayCpu / ours.gatewayCpu).toFixed(2)}× gateway CPU, ${(run.totalCpu / ours.totalCpu).toFixed(2)}× total CPU`
              : ""
          }${r.errors ? ` (${r.errors} errors)` : ""}${r.mismatches ? ` (${r.mismatches} wrong answers)` : ""}`,
        );
        const waited = await settle(everyPid, idleMs);
        if (waited > longestSettle.ms) Object.assign(longestSettle, { ms: waited, after: `${c.name} on ${q.name}` });
      }
    }
    console.log(`  round ${round} done`);
  }
  console.log(
    `after each run, the next waited for the system's cores to be idle (≤ ${idleMs.toFixed(0)} ms of CPU per 250 ms): longest wait ${(longestSettle.ms / 1000).toFixed(1)} s (after ${longestSettle.after})`,
  );

  console.log(
    `\nmedians over rounds; CPU in ms per request; "vs ours": the median of each round's ratio against ours (req/s, gateway CPU, total CPU)`,
  );
  console.log(
    `${"query".padEnd(52)} ${"gateway".padEnd(12)} ${"req/s".padStart(7)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"gw CPU".padStart(7)} ${"subgraphs".padStart(9)} ${"Postgres".padStart(8)} ${"total".padStart(7)} ${"gw RSS MiB".padStart(10)}  vs ours: req/s  gw CPU  total CPU`,
  );
  const ratio = (values: number[]) => (values.length ? `${median(values).toFixed(2)}×` : "–");
  for (const q of queries) {
    for (const c of candidates) {
      const r = results.get(`${q.name}\u0000${c.name}`);
      if (!r) {
        console.log(`${q.name.padEnd(52)} ${c.name.padEnd(12)} exited before this query's runs were done`);
        continue;
      }
      const total = r.gatewayCpu.map((gw, i) => gw + r.subgraphCpu[i]! + r.databaseCpu[i]!);
      console.log(
        `${q.name.padEnd(52)} ${c.name.padEnd(12)} ${median(r.rps).toFixed(0).padStart(7)} ${median(r.p50).toFixed(1).padStart(7)} ${median(r.p99).toFixed(1).padStart(7)} ${median(r.gatewayCpu).toFixed(2).padStart(7)} ${median(r.subgraphCpu).toFixed(2).padStart(9)} ${median(r.databaseCpu).toFixed(2).padStart(8)} ${median(total).toFixed(2).padStart(7)} ${Math.max(
          ...r.rssMb,
        )
          .toFixed(0)
          .padStart(
            10,
          )}           ${ratio(r.vsOurs.rps).padStart(5)} ${ratio(r.vsOurs.gatewayCpu).padStart(7)} ${ratio(r.vsOurs.totalCpu).padStart(10)}${r.errors ? `  (${r.errors} errors)` : ""}${r.wrongAnswers ? `  (${r.wrongAnswers} wrong answers)` : ""}`,
      );
    }
  }
  console.log(`\nsubgraph CPU ms per request, each (median over rounds), by the gateway that called them:`);
  for (const q of queries) {
    console.log(`  ${q.name}`);
    for (const c of candidates) {
      const r = results.get(`${q.name}\u0000${c.name}`);
      if (!r) continue;
      console.log(
        `    ${c.name.padEnd(12)} ${subgraphs.map((s) => `${s.name} ${median(r.perSubgraph[s.name]!).toFixed(2)}`).join(", ")}`,
      );
    }
  }
  console.log(
    `\nsubgraphs' peak RSS since they started (the seed included), MiB: ${subgraphs.map((s) => `${s.name} ${peakRssMb(s.pid).toFixed(0)}`).join(", ")}`,
  );
  if (memoryLimitMb) {
    console.log(
      `processes killed for memory, each under a limit of ${memoryLimitMb} MiB: ${[...memoryLimits].map(([name, limit]) => `${name} ${limit.oomKills()}`).join(", ")}`,
    );
  }
  console.log(`\nload average after: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  if (wrongUnderLoad)
    console.log(`${wrongUnderLoad} answers under load differed from the checked ones (see the table)`);
  if (wrong || wrongUnderLoad) process.exitCode = 1;
} finally {
  // A peer still running 10 s after SIGTERM is killed, and so is every process it started (Hive's
  // node:cluster workers under --fork do not all exit on their primary's SIGTERM).
  for (const peer of peers) {
    const pids = withChildren(peer.child.pid!);
    const kill = () => {
      for (const pid of pids.filter(running)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // it ended meanwhile
        }
      }
    };
    const deadline = setTimeout(kill, 10_000);
    await stopProcess(peer, "SIGTERM").catch(() => undefined);
    clearTimeout(deadline);
    kill();
  }
  // A drain ends in a normal exit, which is when V8 writes the CPU profiles.
  if (profileDir) await Promise.all(Object.values(system.processes).map((p) => stopProcess(p, "SIGTERM")));
  await system.close();
  for (const limit of memoryLimits.values()) limit.remove();
  if (work) rmSync(work, { recursive: true, force: true });
}
