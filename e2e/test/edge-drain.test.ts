// The drain of the HTTP edge, on a real server and real sockets: new connections are refused,
// readiness answers 503 on connections still open, requests already running finish, open
// connections are closed after their next answer (idle ones after a moment), and the deadline
// cuts whatever a client still holds open.
import { afterEach, expect, test } from "vitest";
import { Agent } from "node:http";
import { createEdge, createLogger, type Edge } from "@pooya/runtime";
import { rawRequest } from "../src/raw-http.ts";

let edge: Edge | undefined;
afterEach(async () => {
  await edge?.close(100).catch(() => undefined);
  edge = undefined;
});

async function startEdge() {
  edge = await createEdge({ log: createLogger({ service: "edge-test", level: "silent" }) });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  edge.app.get("/slow", async () => {
    await released;
    return { done: true };
  });
  edge.app.get("/boom", async () => {
    throw new Error("secret internals");
  });
  edge.setReadiness(async () => ({ ready: true }));
  const { url } = await edge.listen(0, "127.0.0.1");
  return { edge, url, release };
}

test("draining: new connections refused, /readyz 503 on an open one, the in-flight request finishes, then close resolves", async () => {
  const { edge, url, release } = await startEdge();
  const busy = new Agent({ keepAlive: true, maxSockets: 1 });
  const other = new Agent({ keepAlive: true, maxSockets: 1 });
  expect((await rawRequest(`${url}/readyz`, { agent: other })).status).toBe(200); // `other` now holds an open connection

  const inFlight = rawRequest(`${url}/slow`, { agent: busy });
  await new Promise((resolve) => setTimeout(resolve, 50));
  let closed = false;
  const closing = edge.close(5_000).then(() => (closed = true));
  await new Promise((resolve) => setTimeout(resolve, 50));

  // A fresh connection is refused; the open one of `other` is still served: readiness says draining, and the connection ends with it.
  await expect(rawRequest(`${url}/readyz`, { agent: new Agent() })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  const readiness = await rawRequest(`${url}/readyz`, { agent: other });
  expect(readiness.status).toBe(503);
  expect(JSON.parse(readiness.body.toString())).toEqual({ status: "draining" });
  expect(readiness.headers.connection).toBe("close");
  expect(closed).toBe(false); // the slow request holds the drain open

  release();
  const answer = await inFlight;
  expect(answer.status).toBe(200);
  expect(answer.headers.connection).toBe("close"); // answered, and its connection ends with it
  await closing;
  expect(closed).toBe(true);
  busy.destroy();
  other.destroy();
});

test("the deadline closes a connection a client keeps busy past it", async () => {
  const { edge, url } = await startEdge();
  const stuck = rawRequest(`${url}/slow`, { agent: new Agent({ keepAlive: true }) }); // never released
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await edge.close(300);
  expect(Date.now() - started).toBeLessThan(2_000);
  await expect(stuck).rejects.toThrow();
});

test("non-GraphQL failures answer the GraphQL error shape with a code", async () => {
  const { url } = await startEdge();
  const missing = await rawRequest(`${url}/missing`);
  expect(missing.status).toBe(404);
  expect(JSON.parse(missing.body.toString())).toEqual({
    errors: [{ message: "No route GET /missing.", extensions: { code: "NOT_FOUND" } }],
  });
  const boom = await rawRequest(`${url}/boom`);
  expect(boom.status).toBe(500);
  expect(boom.body.toString()).not.toContain("secret internals");
  expect(JSON.parse(boom.body.toString()).errors[0].extensions.code).toBe("INTERNAL_SERVER_ERROR");
});

test("REUSE_PORT: a second edge shares the port only when both ask; once the first drains, the second answers every new connection", async () => {
  const log = createLogger({ service: "edge-test", level: "silent" });
  const named = async (name: string) => {
    const e = await createEdge({ log });
    e.app.get("/who", async () => ({ name }));
    return e;
  };
  const first = await named("first");
  edge = first;
  const { port } = await first.listen(0, "127.0.0.1", { reusePort: true });
  const refused = await named("refused");
  await expect(refused.listen(port, "127.0.0.1")).rejects.toMatchObject({ code: "EADDRINUSE" }); // the default
  await refused.close(100);

  const second = await named("second");
  try {
    await second.listen(port, "127.0.0.1", { reusePort: true });
    await first.close(1_000);
    const answers = await Promise.all(Array.from({ length: 10 }, () => rawRequest(`http://127.0.0.1:${port}/who`)));
    expect(answers.map((a) => JSON.parse(a.body.toString()).name)).toEqual(Array(10).fill("second"));
  } finally {
    await second.close(100);
  }
});
