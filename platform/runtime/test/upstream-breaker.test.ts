// The circuit breaker of calls to another service follows the failure, not the first hiccup: a
// few timeouts among many calls open nothing; a failure rate over the window, or calls that
// cannot connect at all several times in a row, open it; while open it asks the service's
// /readyz and closes as soon as that answers ready (or, failing that, after a trial call).
// Against a real HTTP server on loopback whose answers the test sets.
import { createServer, type Server } from "node:http";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { UpstreamError, createLogger, createMetrics, createUpstream } from "@pooya/runtime";
import type { BreakerPolicy } from "../src/upstream.ts";

/** What the server does: `/work` answers ok, 500 or never; `/readyz` 200, 503 or never. */
const behaviour = { work: "ok" as "ok" | "fail" | "hang", ready: true as boolean | "hang", probes: 0 };
let server: Server | undefined;
let port: number;

function listen(): Promise<void> {
  server = createServer((request, response) => {
    if (request.url === "/readyz") {
      behaviour.probes += 1;
      if (behaviour.ready === "hang") return;
      return void response.writeHead(behaviour.ready ? 200 : 503).end();
    }
    if (behaviour.work === "hang") return; // the client's deadline ends it
    response.writeHead(behaviour.work === "ok" ? 200 : 500, { "content-type": "application/json" }).end("{}");
  });
  return new Promise((resolve) =>
    server!.listen(port, "127.0.0.1", () => {
      port = (server!.address() as { port: number }).port; // the same port again on a later listen()
      resolve();
    }),
  );
}
const stopListening = () =>
  new Promise<void>((resolve) => {
    server?.close(() => resolve());
    server?.closeAllConnections();
  });

beforeEach(async () => {
  Object.assign(behaviour, { work: "ok", ready: true, probes: 0 });
  port = 0;
  await listen();
});
afterEach(stopListening);

function upstreamWith(breaker: Partial<BreakerPolicy>) {
  const lines: { msg: string; [key: string]: unknown }[] = [];
  const log = createLogger({
    service: "test",
    level: "info",
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  const metrics = createMetrics("test");
  const upstream = createUpstream({
    name: "peer",
    baseUrl: `http://127.0.0.1:${port}`,
    connectTimeoutMs: 200,
    timeoutMs: 300,
    maxSockets: 32,
    breaker,
    log,
    metrics,
  });
  const transitions = async () =>
    Object.fromEntries((await metrics.breakerTransitions.get()).values.map((v) => [v.labels.state, v.value]));
  const call = () =>
    upstream.send("/work", { idempotent: true }).then(
      (r) => `HTTP ${r.status}`,
      (e: unknown) => (e instanceof UpstreamError ? e.failure : "error"),
    );
  return { upstream, lines, transitions, call };
}

test("a few timeouts among many calls open nothing: slowness is not an outage", async () => {
  const { upstream, call, transitions } = upstreamWith({ minimumCalls: 20, windowMs: 10_000 });
  const outcomes: string[] = [];
  for (let i = 0; i < 30; i += 1) {
    behaviour.work = i % 6 === 0 ? "hang" : "ok"; // 5 of 30 time out
    outcomes.push(await call());
  }
  expect(outcomes.filter((o) => o === "timeout")).toHaveLength(5);
  expect(outcomes.filter((o) => o === "open")).toHaveLength(0);
  expect(upstream.status().state).toBe("closed");
  expect(await transitions()).toEqual({});
  await upstream.close();
});

test("a failure rate over the window opens it; it stays open while /readyz says not ready and closes once it says ready", async () => {
  const { upstream, call, transitions, lines } = upstreamWith({
    minimumCalls: 10,
    windowMs: 5_000,
    probeIntervalMs: 100,
    maxOpenMs: 60_000,
  });
  Object.assign(behaviour, { work: "fail", ready: false });
  const outcomes = await Promise.all(Array.from({ length: 10 }, call));
  expect(outcomes).toEqual(Array(10).fill("HTTP 500"));
  expect(upstream.status().state).toBe("open");
  // Answered for the service without calling it, with when to try again.
  const refused = await upstream.send("/work", { idempotent: true }).catch((e: UpstreamError) => e);
  expect(refused).toMatchObject({ failure: "open" });
  expect((refused as UpstreamError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
  // Three probes answer 503: still open.
  await vi.waitFor(() => expect(behaviour.probes).toBeGreaterThanOrEqual(3), { timeout: 2_000, interval: 10 });
  expect(upstream.status().state).toBe("open");

  Object.assign(behaviour, { work: "ok", ready: true });
  const readyAt = Date.now();
  await vi.waitFor(() => expect(upstream.status().state).toBe("closed"), { timeout: 2_000, interval: 10 });
  expect(Date.now() - readyAt).toBeLessThan(1_000); // a probe interval, not the 60 s open period
  expect(await call()).toBe("HTTP 200");
  expect(await transitions()).toEqual({ open: 1, closed: 1 });
  expect(lines.find((l) => l.msg === "circuit breaker opened")).toMatchObject({
    upstream: "peer",
    reason: "failure rate",
  });
  expect(lines.find((l) => l.msg === "circuit breaker closed")).toMatchObject({
    upstream: "peer",
    closedBy: "its /readyz answered ready",
  });
  await upstream.close();
});

test("after a quiet spell, successes older than the window do not outvote a new outage", async () => {
  const { upstream, call } = upstreamWith({ minimumCalls: 10, windowMs: 1_000, probeIntervalMs: 100 });
  for (let i = 0; i < 30; i += 1) expect(await call()).toBe("HTTP 200");
  await new Promise((resolve) => setTimeout(resolve, 1_100)); // the window's length passes without a call
  Object.assign(behaviour, { work: "fail", ready: false });
  for (let i = 0; i < 10; i += 1) expect(await call()).toBe("HTTP 500");
  expect(upstream.status().state).toBe("open");
  await upstream.close();
});

test("calls that cannot connect, several in a row, open it; it closes when the service listens and is ready again", async () => {
  const { upstream, call, transitions, lines } = upstreamWith({ connectionFailures: 3, probeIntervalMs: 100 });
  let recovered = 0;
  upstream.onRecovered(() => (recovered += 1));
  await stopListening();
  expect([await call(), await call()]).toEqual(["unavailable", "unavailable"]);
  expect(upstream.status().state).toBe("closed"); // two in a row: not yet
  expect(await call()).toBe("unavailable");
  expect(upstream.status()).toMatchObject({ state: "open", lastFailure: expect.stringContaining("ECONNREFUSED") });
  expect(lines.find((l) => l.msg === "circuit breaker opened")).toMatchObject({ reason: "unreachable" });

  await listen();
  await vi.waitFor(() => expect(upstream.status().state).toBe("closed"), { timeout: 2_000, interval: 10 });
  expect(recovered).toBe(1);
  expect(await call()).toBe("HTTP 200");
  expect(await transitions()).toEqual({ open: 1, closed: 1 });
  await upstream.close();
});

test("an answer in between resets the count of calls that could not connect", async () => {
  const { upstream, call } = upstreamWith({ connectionFailures: 3, minimumCalls: 100 });
  for (let round = 0; round < 2; round += 1) {
    await stopListening();
    expect([await call(), await call()]).toEqual(["unavailable", "unavailable"]);
    await listen();
    expect(await call()).toBe("HTTP 200");
  }
  expect(upstream.status().state).toBe("closed");
  await upstream.close();
});

test("with /readyz never ready, a trial call after the open period decides", async () => {
  const { upstream, call, transitions, lines } = upstreamWith({
    minimumCalls: 5,
    windowMs: 5_000,
    probeIntervalMs: 100,
    maxOpenMs: 60_000,
  });
  Object.assign(behaviour, { work: "fail", ready: false });
  await Promise.all(Array.from({ length: 5 }, call));
  expect(upstream.status().state).toBe("open");
  behaviour.work = "ok"; // the calls would work, but /readyz still says 503
  const openedAt = Date.now();
  const outcomes: string[] = [];
  await vi.waitFor(
    async () => {
      outcomes.push(await call());
      expect(outcomes.at(-1)).toBe("HTTP 200"); // the trial call, once the first open period (1 s) is over
    },
    { timeout: 3_000, interval: 50 },
  );
  expect(Date.now() - openedAt).toBeGreaterThanOrEqual(900);
  expect(outcomes.slice(0, -1).every((o) => o === "open")).toBe(true);
  expect(upstream.status().state).toBe("closed");
  expect(await transitions()).toEqual({ open: 1, "half-open": 1, closed: 1 });
  expect(lines.find((l) => l.msg === "circuit breaker closed")).toMatchObject({ closedBy: "a trial call succeeded" });
  await upstream.close();
});

test("a service that answers nothing, not even /readyz, gets no trial call: every caller is answered at once until it is ready", async () => {
  const { upstream, call } = upstreamWith({
    minimumCalls: 5,
    windowMs: 5_000,
    probeIntervalMs: 100,
    maxOpenMs: 60_000,
  });
  Object.assign(behaviour, { work: "hang", ready: "hang" });
  expect(await Promise.all(Array.from({ length: 5 }, call))).toEqual(Array(5).fill("timeout"));
  expect(upstream.status().state).toBe("open");
  // Past the first open period (1 s): still answered by the breaker, in far less than a call's deadline.
  const until = Date.now() + 1_500;
  while (Date.now() < until) {
    const started = performance.now();
    expect(await call()).toBe("open");
    expect(performance.now() - started).toBeLessThan(250);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  Object.assign(behaviour, { work: "ok", ready: true });
  await vi.waitFor(() => expect(upstream.status().state).toBe("closed"), { timeout: 2_000, interval: 10 });
  expect(await call()).toBe("HTTP 200");
  await upstream.close();
});
