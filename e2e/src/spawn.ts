// One service as its own process (`node <entry>` with exactly its variables, as its container
// runs it), and waiting for it: the primitives of createTenv's process mode and of startProcesses.
import { spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SubgraphName } from "@pooya/system";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export type ProcessName = SubgraphName | "gateway";

export interface ServiceProcess {
  name: ProcessName;
  port: number;
  url: string;
  entry: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr. */
  output: string;
  /** Its JSON log lines (stdout), parsed. */
  logLines(): Record<string, unknown>[];
  exited: Promise<number | null>;
}

/**
 * Spawns `node [nodeArgs] <entry>` in `cwd` (the repository by default) with exactly `env` (plus
 * PATH), capturing its output. `prefix`: a command that runs it (and becomes it, keeping the pid),
 * e.g. one that joins a cgroup first.
 */
export function spawnService(
  name: ProcessName,
  entry: string,
  env: NodeJS.ProcessEnv,
  port: number,
  options: { cwd?: string; nodeArgs?: string[]; prefix?: string[] } = {},
): ServiceProcess {
  const [command, ...args] = [...(options.prefix ?? []), process.execPath, ...(options.nodeArgs ?? []), entry];
  const child = spawn(command!, args, {
    cwd: options.cwd ?? repoRoot,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const service: ServiceProcess = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    entry,
    env,
    child,
    output: "",
    logLines: () =>
      service.output
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
  child.stdout!.on("data", (chunk) => (service.output += chunk));
  child.stderr!.on("data", (chunk) => (service.output += chunk));
  return service;
}

export async function waitUntilReady(service: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null)
      throw new Error(`${service.name} exited with ${service.child.exitCode}:\n${service.output}`);
    const ready = await fetch(`${service.url}/readyz`).catch(() => null);
    if (ready?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${service.name} not ready within ${timeoutMs} ms:\n${service.output}`);
}

/**
 * Waits until the process itself holds a listening socket on its port (Linux: its descriptors
 * against /proc/net/tcp*). /readyz cannot tell: with SO_REUSEPORT another process on the same
 * port may answer it. A service listens only once it is ready to serve.
 */
export async function waitUntilListening(service: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const portHex = service.port.toString(16).toUpperCase().padStart(4, "0");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null)
      throw new Error(`${service.name} exited with ${service.child.exitCode}:\n${service.output}`);
    const listening = new Set<string>();
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      const lines = (await readFile(table, "utf8").catch(() => "")).split("\n").slice(1);
      for (const line of lines) {
        const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
        if (state === "0A" && local?.endsWith(`:${portHex}`)) listening.add(`socket:[${inode}]`); // 0A: LISTEN
      }
    }
    const fdDir = `/proc/${service.child.pid}/fd`;
    const descriptors = await readdir(fdDir).catch(() => [] as string[]);
    for (const fd of descriptors) {
      if (listening.has(await readlink(join(fdDir, fd)).catch(() => ""))) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${service.name} not listening within ${timeoutMs} ms:\n${service.output}`);
}

export async function stopProcess(service: ServiceProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill(signal);
  return service.exited;
}
