// A source holds a feed read open for `wait` ms, and a loaded source answers it a little later
// than that. Such an answer is not a timeout: the read's deadline is the wait plus the usual call
// deadline. (It used to be the call deadline alone, 0.5 s after the wait: under load the answer
// came later, the breaker opened at once, and the consumer backed off for seconds, so events
// reached notifications late.) The source here is an HTTP server that answers every read
// 1.2 s after its wait, as a busy event loop would.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createLogger, createUpstream } from "@pooya/runtime";
import { createServiceIdentity, generateSigningKey } from "@pooya/identity";
import { createFeedConsumer } from "../src/feed.ts";

let server: Server;
let base: string;
const reads: { wait: number; answeredAfterMs: number }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const wait = Number(new URL(request.url!, "http://x").searchParams.get("wait") ?? 0);
    const started = Date.now();
    setTimeout(
      () => {
        reads.push({ wait, answeredAfterMs: Date.now() - started });
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ events: [], head: "0" }));
      },
      wait > 0 ? wait + 1_200 : 0,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  base = `http://127.0.0.1:${address.port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

test("a held-open read answered after its wait, within the call deadline, is a read like any other", async () => {
  const lines: { msg: string }[] = [];
  const log = createLogger({
    service: "test",
    level: "info",
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  // Call deadline 2 s: the source may hold a read 1.5 s; it answers at 2.7 s.
  const upstream = createUpstream({
    name: "source",
    baseUrl: base,
    connectTimeoutMs: 500,
    timeoutMs: 2_000,
    maxSockets: 2,
    breaker: { connectionFailures: 3 },
    log,
  });
  const consumer = createFeedConsumer({
    source: "source",
    upstream,
    identity: createServiceIdentity("test", [await generateSigningKey()]),
    log,
    readCursor: async () => 0n,
    apply: async () => 0,
    pollIntervalMs: 1_000,
  });
  consumer.startPolling();
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  await consumer.stop();
  await upstream.close();

  const held = reads.filter((r) => r.wait > 0);
  expect(held.length).toBeGreaterThanOrEqual(2);
  // Answered 2.7 s into the read, past the old deadline (wait + 0.5 s). A timer counts from the
  // event loop's clock as of its last turn, which a busy loop reads a few ms before the handler
  // runs: measured from the handler, the answer may come a little before 2.7 s.
  expect(held.every((r) => r.wait === 1_500 && r.answeredAfterMs >= 2_600)).toBe(true);
  expect(lines.map((l) => l.msg)).not.toContain("cannot read the event feed; retrying with backoff");
  expect(lines.map((l) => l.msg)).not.toContain("circuit breaker opened");
  expect(upstream.status().state).toBe("closed");
});
