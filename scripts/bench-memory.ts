// npm run bench:memory: what `npm start` (embedded Postgres, demo seed) holds in memory, and
// whether it stays flat under load. Starts it on a fresh data folder, waits for the demo seed
// and its events to be done and the process to go quiet, then prints its resident memory and
// how it splits (mapped files, the V8 heap, the rest: WebAssembly memories of PGlite and
// Prisma's query compilers, and what malloc holds). Then it loads the gateway with a student's
// dashboard for BENCH_MEMORY_SECONDS, samples every BENCH_MEMORY_SAMPLE_SECONDS (RSS, the V8
// heap, and what is in use after a forced full collection: a leak grows that one), and prints
// the growth over the second half of the run (where warm-up is over).
//   BENCH_MEMORY_SECONDS=600 npm run bench:memory      (0: the idle figures only)
//   BENCH_MALLOC=default                              (glibc's malloc defaults, to compare)
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuMs } from "./lib/process-cpu.ts";
import { runLoad } from "./lib/load.ts";
import { MALLOC_SETTINGS } from "./lib/malloc.ts";

const seconds = Number(process.env.BENCH_MEMORY_SECONDS ?? 600);
const sampleSeconds = Number(process.env.BENCH_MEMORY_SAMPLE_SECONDS ?? 30);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const dataDir = await mkdtemp(join(tmpdir(), "pooya-memory-"));
const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The process npm start runs the system in, with npm start's malloc settings (BENCH_MALLOC=tuned)
// or glibc's defaults (BENCH_MALLOC=default) to compare.
const malloc = process.env.BENCH_MALLOC ?? "tuned";
// With the inspector on (loopback, a port of its own), the bench can force a full collection
// before it reads the heap: what is still in use then is what the process holds, not garbage
// V8 has not collected yet.
const child = spawn(process.execPath, ["--inspect=127.0.0.1:0", "scripts/start-system.ts"], {
  cwd: repoRoot,
  env: { ...process.env, POOYA_DATA_DIR: dataDir, LOG_LEVEL: "warn", ...(malloc === "tuned" ? MALLOC_SETTINGS : {}) },
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
child.stdout.on("data", (chunk) => (output += chunk));
child.stderr.on("data", (chunk) => (output += chunk));
const exited = new Promise((resolve) => child.once("exit", resolve));
const stop = async () => {
  if (child.exitCode === null) child.kill("SIGTERM");
  await exited;
  await rm(dataDir, { recursive: true, force: true });
};
process.on("SIGINT", () => void stop().then(() => process.exit(130)));

/** Resident memory of the process, from /proc (kB → MB): all of it, anonymous (heap, WASM) and file-backed (code). */
function rss(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) / 1024;
  return { rss: field("VmRSS"), anon: field("RssAnon"), file: field("RssFile"), peak: field("VmHWM") };
}

/** V8 gives memory back in idle collections over the next minute or so: the lowest of a minute's samples. */
async function lowestOverAMinute(): Promise<[ReturnType<typeof rss>, Awaited<ReturnType<typeof v8>>]> {
  let lowest = rss(child.pid!);
  let lowestV8 = await v8(metricsUrl);
  for (let i = 0; i < 12; i++) {
    await sleep(5_000);
    const now = rss(child.pid!);
    const heap = await v8(metricsUrl);
    if (process.env.BENCH_DEBUG)
      console.log(
        `  idle sample: RSS ${now.rss.toFixed(0)} MB, heap ${heap.heapTotal.toFixed(0)} MB (${heap.heapUsed.toFixed(0)} in use)`,
      );
    if (now.rss < lowest.rss) [lowest, lowestV8] = [now, heap];
  }
  return [lowest, lowestV8];
}

/** Heap in use after a full collection (over the inspector's protocol), in MB. */
async function liveHeap(): Promise<number> {
  const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
  if (!inspector) return NaN;
  const socket = new WebSocket(inspector);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let id = 0;
  const call = (method: string) =>
    new Promise<Record<string, number>>((resolve) => {
      const mine = ++id;
      const onMessage = (event: MessageEvent) => {
        const message = JSON.parse(String(event.data)) as { id?: number; result: Record<string, number> };
        if (message.id !== mine) return;
        socket.removeEventListener("message", onMessage);
        resolve(message.result);
      };
      socket.addEventListener("message", onMessage);
      socket.send(JSON.stringify({ id: mine, method }));
    });
  try {
    await call("HeapProfiler.collectGarbage");
    await call("HeapProfiler.collectGarbage");
    return (await call("Runtime.getHeapUsage")).usedSize! / MB;
  } finally {
    socket.close();
  }
}

/** The process's V8 figures, from the gateway's /metrics (prom-client's default metrics are per process). */
async function v8(metricsUrl: string) {
  const text = await (await fetch(metricsUrl)).text();
  const value = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? NaN) / MB;
  return { heapUsed: value("nodejs_heap_size_used_bytes"), heapTotal: value("nodejs_heap_size_total_bytes") };
}

let gatewayUrl: string;
let metricsUrl = "";
try {
  const startedAt = Date.now();
  while (!output.includes("system ready")) {
    if (child.exitCode !== null) throw new Error(`npm start exited:\n${output}`);
    if (Date.now() - startedAt > 600_000) throw new Error(`npm start not ready within 10 min:\n${output}`);
    await sleep(250);
  }
  gatewayUrl = /GraphQL endpoint:\s+(\S+)/.exec(output)![1]!;
  metricsUrl = gatewayUrl.replace(/\/graphql$/, "/metrics");
  console.log(
    `malloc: ${
      malloc === "tuned"
        ? Object.entries(MALLOC_SETTINGS)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")
        : "glibc's defaults"
    }`,
  );
  console.log(`npm start ready and seeded in ${((Date.now() - startedAt) / 1000).toFixed(0)} s (pid ${child.pid})`);

  // The seed's events are consumed for a while after it returns: wait until the process is quiet.
  const quietSince = Date.now();
  for (let busy = Infinity; busy > 100 && Date.now() - quietSince < 300_000;) {
    const before = cpuMs(child.pid!);
    await sleep(2_000);
    busy = cpuMs(child.pid!) - before;
  }
  const [idle, idleV8] = await lowestOverAMinute();
  console.log(
    `idle after ${((Date.now() - quietSince) / 1000).toFixed(0)} s quiet: RSS ${idle.rss.toFixed(0)} MB (peak ${idle.peak.toFixed(0)} MB)`,
  );
  console.log(`  file-backed (code, mapped files)                          ${idle.file.toFixed(0).padStart(5)} MB`);
  console.log(
    `  V8 heap (${idleV8.heapUsed.toFixed(0)} MB of it in use)                          ${idleV8.heapTotal.toFixed(0).padStart(5)} MB`,
  );
  console.log(
    `  the rest: WebAssembly memories (PGlite, Prisma), malloc  ${(idle.anon - idleV8.heapTotal).toFixed(0).padStart(5)} MB`,
  );
  const idleLive = await liveHeap();
  console.log(`  (heap in use after a full collection: ${idleLive.toFixed(0)} MB)`);

  if (seconds > 0) {
    const login = await fetch(gatewayUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: `mutation { login(email: "student1@pooya.local", password: "student-demo-pass") { accessToken } }`,
      }),
    }).then((r) => r.json() as Promise<{ data?: { login: { accessToken: string } } }>);
    const token = login.data?.login.accessToken;
    if (!token) throw new Error(`could not sign in as student1: ${JSON.stringify(login)}`);
    const query = `{ me { name enrolledCourses { code title teacher { name } } attendance { date status course { code } } wallet { balance } foodOrders { id status meal { name } } } meals { id name price } }`;
    console.log(
      `\nload: ${connections} connections, a student's dashboard, ${seconds} s, a sample every ${sampleSeconds} s`,
    );
    console.log("  second  RSS MB  V8 heap MB (in use)  in use after a full GC MB  req/s  errors");
    const samples: { at: number; rss: number; live: number }[] = [];
    for (let at = sampleSeconds; at <= seconds; at += sampleSeconds) {
      const result = await runLoad({
        url: gatewayUrl,
        body: JSON.stringify({ query }),
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        connections,
        seconds: sampleSeconds,
      });
      const now = rss(child.pid!);
      const heap = await v8(metricsUrl);
      const live = await liveHeap();
      samples.push({ at, rss: now.rss, live });
      console.log(
        `  ${String(at).padStart(6)}  ${now.rss.toFixed(0).padStart(6)}  ${`${heap.heapTotal.toFixed(0)} (${heap.heapUsed.toFixed(0)})`.padStart(19)}  ${live.toFixed(0).padStart(26)}  ${result.rps.toFixed(0).padStart(5)}  ${String(result.errors).padStart(6)}`,
      );
    }
    const secondHalf = samples.filter((s) => s.at > seconds / 2);
    if (secondHalf.length >= 2) {
      const first = secondHalf[0]!,
        last = secondHalf.at(-1)!;
      const perMinute = ((last.rss - first.rss) / (last.at - first.at)) * 60;
      const livePerMinute = ((last.live - first.live) / (last.at - first.at)) * 60;
      console.log(
        `RSS over the second half: ${first.rss.toFixed(0)} → ${last.rss.toFixed(0)} MB (${perMinute >= 0 ? "+" : ""}${perMinute.toFixed(1)} MB/min), max ${Math.max(...samples.map((s) => s.rss)).toFixed(0)} MB`,
      );
      console.log(
        `heap in use after a full GC over the second half: ${first.live.toFixed(0)} → ${last.live.toFixed(0)} MB (${livePerMinute >= 0 ? "+" : ""}${livePerMinute.toFixed(1)} MB/min)`,
      );
    }
    const [after, afterV8] = await lowestOverAMinute();
    console.log(
      `a minute idle after the load: RSS ${after.rss.toFixed(0)} MB, V8 heap ${afterV8.heapTotal.toFixed(0)} MB, in use after a full GC ${(await liveHeap()).toFixed(0)} MB (${idleLive.toFixed(0)} before the load)`,
    );
  }
} finally {
  await stop();
}
