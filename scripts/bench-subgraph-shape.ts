// node scripts/bench-subgraph-shape.ts: what the users subgraph spends on one `me` request by
// the request's shape, sent straight to it by one client: (a) exactly what our gateway sends
// (captured through a recording proxy in front of users: its body, x-identity-assertion,
// x-request-id, fresh for each request as the gateway's are, x-caller-timeout-ms) and (b) what
// Grafbase sends (its operation text, the forwarded assertion, its Accept and Accept-Encoding).
// Alternated over rounds; per request: the subgraph's CPU (utime + stime from /proc/<pid>/stat)
// and, when `perf` can count them, its syscalls and event-loop turns (epoll_pwait).
// PROBE_CONCURRENCY=1 sends one request at a time: each wakes the subgraph on its own, as calls
// spaced out by a busy gateway on the same core do
// (docs/benchmarks.md#subgraph-cpu-per-request-depends-on-the-calling-gateways-pace).
//   PROBE_REQUESTS (15000) per run, PROBE_CONCURRENCY (10), PROBE_ROUNDS (5).
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Pool } from "undici";
import { PROCESS_ADMIN, freePort, postGraphQL, spawnService, startProcesses, waitUntilReady } from "@pooya/e2e";
import { createIdentityAssertionSigner, signingKeyFromJwk } from "@pooya/identity";
import { nodeFlagsOf } from "@pooya/system";

const requests = Number(process.env.PROBE_REQUESTS ?? 15_000);
const concurrency = Number(process.env.PROBE_CONCURRENCY ?? 10);
const rounds = Number(process.env.PROBE_ROUNDS ?? 5);

/** utime and stime of a process, in ms (fields 14 and 15 of /proc/<pid>/stat, 100 ticks a second). */
function cpuTimes(pid: number): { user: number; system: number } {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

const PERF_EVENTS = [
  "raw_syscalls:sys_enter",
  "syscalls:sys_enter_epoll_pwait",
  "syscalls:sys_enter_read",
  "syscalls:sys_enter_write",
  "syscalls:sys_enter_writev",
  "context-switches",
];
/** Counts PERF_EVENTS of a process until stopped; undefined counts when perf cannot. */
function countEvents(pid: number) {
  let child: ChildProcess | undefined;
  let output = "";
  try {
    child = spawn("perf", ["stat", "-x", ",", "-e", PERF_EVENTS.join(","), "-p", String(pid)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.on("error", () => (child = undefined));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  } catch {
    child = undefined;
  }
  return {
    started: new Promise((resolve) => setTimeout(resolve, 300)),
    async stop(): Promise<Record<string, number> | undefined> {
      if (!child) return undefined;
      const closed = new Promise((resolve) => child!.once("close", resolve));
      child.kill("SIGINT");
      await closed;
      const counts: Record<string, number> = {};
      for (const line of output.split("\n")) {
        const [value, , event] = line.split(",");
        if (event && /^\d+$/.test(value ?? ""))
          counts[event.replace(/^(raw_)?syscalls:sys_enter_?/, "") || "syscalls"] = +value!;
      }
      return Object.keys(counts).length ? counts : undefined;
    },
  };
}

const system = await startProcesses({ env: { LOG_LEVEL: "warn", CACHE: "off" }, readyTimeoutMs: 120_000 });
try {
  const users = system.processes.users;
  const login = await postGraphQL(system.gatewayUrl, {
    query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`,
    variables: { e: PROCESS_ADMIN.email, p: PROCESS_ADMIN.password },
  });
  const { accessToken, user } = (login.data as { login: { accessToken: string; user: { id: string } } }).login;

  // Our gateway's request to users, as sent: a second gateway whose users address is a recording proxy.
  let captured: { headers: IncomingHttpHeaders; body: string } | undefined;
  const proxy = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      if (request.method === "POST" && request.url === "/graphql") captured = { headers: request.headers, body };
      httpRequest(`${users.url}${request.url}`, { method: request.method, headers: request.headers }, (answer) => {
        response.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(response);
      }).end(body);
    });
  });
  const proxyPort = await freePort();
  await new Promise<void>((resolve) => proxy.listen(proxyPort, "127.0.0.1", resolve));
  const gatewayPort = await freePort();
  const recorded = spawnService(
    "gateway",
    "gateway/src/main.ts",
    { ...system.envOf("gateway"), PORT: String(gatewayPort), USERS_URL: `http://127.0.0.1:${proxyPort}` },
    gatewayPort,
    { nodeArgs: nodeFlagsOf("gateway") },
  );
  await waitUntilReady(recorded, 120_000);
  await postGraphQL(`http://127.0.0.1:${gatewayPort}/graphql`, {
    query: `{ me { id name role } }`,
    token: accessToken,
  });
  recorded.child.kill("SIGKILL");
  proxy.close();
  if (!captured) throw new Error("our gateway sent users nothing");
  const ours = captured;
  console.log(`our gateway sends users: ${ours.body} with ${Object.keys(ours.headers).join(", ")}`);

  const sign = createIdentityAssertionSigner(
    await signingKeyFromJwk(JSON.parse(system.envOf("gateway").GATEWAY_SIGNING_KEY!) as object),
  );
  type Shape = (assertion: string) => { headers: Record<string, string>; body: string };
  const shapes: Record<string, Shape> = {
    ours: (assertion) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(ours.headers))
        if (typeof value === "string" && !["host", "connection", "content-length"].includes(name))
          headers[name] = value;
      return { headers: { ...headers, "x-identity-assertion": assertion }, body: ours.body };
    },
    // As Grafbase 0.103 sent it (recorded the same way).
    grafbase: (assertion) => ({
      headers: {
        "x-identity-assertion": assertion,
        "content-type": "application/json",
        accept: "application/graphql-response+json; charset=utf-8, application/json; charset=utf-8",
        "accept-encoding": "gzip, br, zstd, deflate",
      },
      body: JSON.stringify({ query: "query { me { id name role } }", variables: {} }),
    }),
  };

  const pool = new Pool(users.url, { connections: concurrency });
  const pid = users.child.pid!;
  async function run(name: string, count: number) {
    // The same viewer both ways, signed as the gateway signs it (the subgraph verifies it once).
    const { headers, body } = shapes[name]!(await sign({ userId: user.id, role: "STAFF" }, "127.0.0.1"));
    const freshRequestId = "x-request-id" in headers;
    let sent = 0;
    let wrong = 0;
    const counter = countEvents(pid);
    await counter.started;
    const before = cpuTimes(pid);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < count) {
          sent += 1;
          const answer = await pool.request({
            path: "/graphql",
            method: "POST",
            headers: freshRequestId ? { ...headers, "x-request-id": randomUUID() } : headers,
            body,
          });
          const text = await answer.body.text();
          if (answer.statusCode !== 200 || !text.includes('"role":"STAFF"')) wrong += 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = cpuTimes(pid);
    const counts = await counter.stop();
    return {
      cpu: (after.user - before.user + after.system - before.system) / count,
      user: (after.user - before.user) / count,
      system: (after.system - before.system) / count,
      rps: count / seconds,
      wrong,
      counts,
    };
  }

  for (const name of Object.keys(shapes)) await run(name, 3_000); // compiled, cached, warm
  const results: Record<string, number[]> = {};
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 ? Object.keys(shapes) : Object.keys(shapes).reverse();
    for (const name of order) {
      const r = await run(name, requests);
      (results[name] ??= []).push(r.cpu);
      const perRequest = r.counts
        ? Object.entries(r.counts)
            .map(([event, n]) => `${event} ${(n / requests).toFixed(2)}`)
            .join(", ")
        : "(perf cannot count here)";
      console.log(
        `${round} ${name.padEnd(9)} ${r.cpu.toFixed(3)} ms CPU/req (user ${r.user.toFixed(3)}, sys ${r.system.toFixed(3)}), ${r.rps.toFixed(0)} req/s${r.wrong ? `, ${r.wrong} WRONG` : ""}; per request: ${perRequest}`,
      );
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(
    `median CPU ms per request at concurrency ${concurrency}: ${Object.entries(results)
      .map(([name, values]) => `${name} ${median(values).toFixed(3)}`)
      .join(", ")}`,
  );
  await pool.close();
} finally {
  await system.close();
}
