// The lingering close of an answer sent before its request's body arrived, watched from the
// server's side of the socket: after the 413 the edge keeps reading and dropping, and lets the
// connection go when the client falls silent (LINGER.idleMs) or has taken too long (LINGER.totalMs)
// — a client that never closes holds nothing for long.
import { afterEach, expect, test } from "vitest";
import { connect, type Socket } from "node:net";
import { LINGER, createEdge, createLogger, type Edge } from "@pooya/runtime";

let edge: Edge | undefined;
afterEach(async () => {
  await edge?.close(100).catch(() => undefined);
  edge = undefined;
});

async function start() {
  edge = await createEdge({ log: createLogger({ service: "edge-test", level: "silent" }) });
  edge.app.post("/graphql", async () => ({ data: null }));
  const { port } = await edge.listen(0, "127.0.0.1");
  const serverSide = new Promise<Socket>((resolve) => edge!.app.server.once("connection", resolve));
  // Half-open, as a client that does not notice the server's FIN and never closes.
  const client = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  let received = "";
  client.on("data", (chunk) => (received += chunk.toString("latin1")));
  client.on("error", () => undefined);
  const headers = `Host: x\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n`;
  client.write(`POST /graphql HTTP/1.1\r\n${headers}\r\n`);
  client.write(Buffer.alloc(64 * 1024, "a"));
  const server = await serverSide;
  const serverClosed = new Promise<void>((resolve) => server.once("close", () => resolve()));
  await new Promise((resolve) => client.once("end", resolve)); // the server's FIN, after its answer
  return { client, received: () => received, serverClosed };
}

test("a client that falls silent mid-body reads its 413 and is let go once it has been silent a while", async () => {
  const { client, received, serverClosed } = await start();
  expect(received()).toMatch(/^HTTP\/1\.1 413 /);
  expect(received().toLowerCase()).toContain("connection: close");
  await serverClosed; // though the client never closes its side
  client.destroy();
});

test("a client that trickles bytes forever after its 413 is let go after LINGER.totalMs", async () => {
  const { client, received, serverClosed } = await start();
  expect(received()).toMatch(/^HTTP\/1\.1 413 /);
  const trickle = setInterval(() => client.write("a"), LINGER.idleMs / 4);
  await serverClosed; // the idle bound never fires: the total one does
  clearInterval(trickle);
  client.destroy();
});
