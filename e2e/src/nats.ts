// A NATS server of the test's own (the machine's nats-server binary, JetStream on, a temporary
// store) on a free port, so that a test can stop and restart the broker without disturbing
// anything else on the machine.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

/** The machine's NATS: NATS_URL, or the conventional loopback address. */
export const MACHINE_NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

function natsServerBinary(): string {
  for (const candidate of [
    process.env.NATS_SERVER_BIN,
    "/usr/sbin/nats-server",
    "/usr/bin/nats-server",
    "/usr/local/bin/nats-server",
  ]) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  const found = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).stdout.trim();
  if (found) return found;
  throw new Error("nats-server is not installed (apt-get install nats-server)");
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });

export async function startNatsServer() {
  const binary = natsServerBinary();
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), "pooya-nats-"));
  let child: ChildProcess | undefined;

  async function start() {
    child = spawn(binary, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir], { stdio: "ignore" });
    const deadline = Date.now() + 10_000;
    while (!(await listening(port))) {
      if (Date.now() > deadline) throw new Error("nats-server did not start");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function stop(signal: NodeJS.Signals = "SIGTERM") {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill(signal);
    await exited;
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    start,
    stop,
    async close() {
      await stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

export type NatsServer = Awaited<ReturnType<typeof startNatsServer>>;
