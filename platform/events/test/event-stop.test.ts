// Stopping a service must not wait out the backoff of its event loops. A consumer whose source
// is down, or an outbox relay whose database is down, sleeps longer after each failure (up to
// 30 s and 10 s); stop() cuts that sleep short. `npm start` stops every service in turn within
// SHUTDOWN_TIMEOUT_MS, so one such wait used to overrun it.
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import pg from "pg";
import { MACHINE_NATS_URL, freePort } from "@pooya/e2e";
import { createLogger, createUpstream } from "@pooya/runtime";
import { createServiceIdentity, generateSigningKey } from "@pooya/identity";
import { createOutbox } from "@pooya/events";
import { connectBroker } from "../src/broker.ts";
import { createFeedConsumer } from "../src/feed.ts";
import { startRelay } from "../src/relay.ts";

const identity = createServiceIdentity("test", [await generateSigningKey()]);

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: { msg: string; [key: string]: unknown }[] = [];
  const log = createLogger({
    service: "test",
    level: "info",
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { log, lines };
}

/** A loopback address where nothing listens: every call is refused at once. */
let nobody: string;
beforeAll(async () => {
  nobody = `127.0.0.1:${await freePort()}`;
});

const timed = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

test("a feed consumer backing off from a source that is down stops at once", async () => {
  const { log, lines } = recordingLogger();
  const upstream = createUpstream({
    name: "source",
    baseUrl: `http://${nobody}`,
    connectTimeoutMs: 500,
    timeoutMs: 2_000,
    maxSockets: 2,
    breaker: { connectionFailures: 100 },
    log,
  });
  const consumer = createFeedConsumer({
    source: "source",
    upstream,
    identity,
    log,
    readCursor: async () => 0n,
    apply: async () => 0,
    pollIntervalMs: 5_000, // the first failure is followed by 10 s of backoff
  });
  consumer.startPolling();
  await vi.waitFor(
    () => expect(lines.map((l) => l.msg)).toContain("cannot read the event feed; retrying with backoff"),
    { timeout: 5_000, interval: 20 },
  );
  // It is now in its 10 s backoff.
  expect(await timed(() => consumer.stop())).toBeLessThan(1_000);
  await upstream.close();
});

test("stopPolling also ends the backoff; polling can start again afterwards", async () => {
  const { log, lines } = recordingLogger();
  const upstream = createUpstream({
    name: "source",
    baseUrl: `http://${nobody}`,
    connectTimeoutMs: 500,
    timeoutMs: 2_000,
    maxSockets: 2,
    breaker: { connectionFailures: 100 },
    log,
  });
  let cursorReads = 0;
  const consumer = createFeedConsumer({
    source: "source",
    upstream,
    identity,
    log,
    readCursor: async () => {
      cursorReads += 1;
      return 0n;
    },
    apply: async () => 0,
    pollIntervalMs: 5_000,
  });
  consumer.startPolling();
  await vi.waitFor(
    () => expect(lines.some((l) => l.msg === "cannot read the event feed; retrying with backoff")).toBe(true),
    { timeout: 5_000, interval: 20 },
  );
  expect(await timed(() => consumer.stopPolling())).toBeLessThan(1_000);
  const readsWhenPaused = cursorReads;
  consumer.startPolling();
  await vi.waitFor(() => expect(cursorReads).toBeGreaterThan(readsWhenPaused), { timeout: 2_000, interval: 20 });
  await consumer.stop();
  await upstream.close();
});

describe("the outbox relay", () => {
  let broker: ReturnType<typeof connectBroker>;
  beforeAll(async () => {
    broker = connectBroker({
      url: MACHINE_NATS_URL,
      subjectPrefix: `stoptest${process.pid}`,
      service: "test",
      log: createLogger({ service: "test", level: "silent" }),
    });
    await broker.whenConnected();
  });
  afterAll(() => broker.close());

  test("backing off from a database that is down stops at once", async () => {
    const { log } = recordingLogger();
    const pool = new pg.Pool({
      connectionString: `postgres://postgres@${nobody}/nothing`,
      connectionTimeoutMillis: 500,
    });
    pool.on("error", () => undefined);
    const connect = vi.spyOn(pool, "connect");
    const outbox = createOutbox({ source: "test", pool, transaction: async () => undefined as never });
    const relay = startRelay({ outbox, pool, broker, pollIntervalMs: 1_000, log });
    // Backoff after the n-th failure in a row: 100 ms × 2^n; after the fifth, 3.2 s.
    await vi.waitFor(() => expect(connect.mock.calls.length).toBeGreaterThanOrEqual(5), {
      timeout: 10_000,
      interval: 20,
    });
    expect(await timed(() => relay.stop())).toBeLessThan(1_000);
    await pool.end();
  });
});
