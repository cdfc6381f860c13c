// The production topology without containers: the gateway and each subgraph as its own process,
// started from its main.ts with environment variables only — what each container runs. Tests
// that need real signals, real process deaths or separate logs use this harness.
// A layer over createTenv (tenv.ts): its databases, its gateway key (so tests can sign assertions
// as these gateways do, tenv.signAssertion) and its process primitives (spawn.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callersOf, serviceUrlVariable } from "@pooya/runtime";
import { SUBGRAPHS, SUBGRAPH_NAMES, accessTokenIssuer, nodeFlagsOf, type SubgraphName } from "@pooya/system";
import { freePort, retryWhilePortTaken } from "./free-port.ts";
import { createTenv } from "./tenv.ts";
import {
  spawnService,
  stopProcess,
  waitUntilListening,
  waitUntilReady,
  type ProcessName,
  type ServiceProcess,
} from "./spawn.ts";

export * from "./spawn.ts";
export const PROCESS_ADMIN = { email: "root@uni.example", password: "root password 1" };

/**
 * The whole federation as separate processes on fresh databases. `env` is added to every
 * process. With `built`, each runs from the production build (`npm run build`'s folder per
 * service: `node --enable-source-maps <its dist entry>` inside it, as its image does). Each
 * starts with the V8 flags its image has (`nodeFlagsOf`). `prefixOf`: a command each process
 * runs under (spawnService's `prefix`), e.g. one that puts it in a memory cgroup of its own.
 */
export async function startProcesses(options: ProcessesOptions = {}) {
  // Every port is picked before its process listens (each must know the others' addresses
  // first), so another process can take one in between: then all start again on new ones.
  return retryWhilePortTaken(() => startProcessesOnce(options));
}

interface ProcessesOptions {
  env?: NodeJS.ProcessEnv;
  built?: { dir: string };
  prefixOf?: (name: ProcessName) => string[];
  /** How long each process may take to be ready (30 s by default). */
  readyTimeoutMs?: number;
}

async function startProcessesOnce(options: ProcessesOptions) {
  const tenv = await createTenv();
  let databaseUrls: Record<SubgraphName, string>;
  try {
    databaseUrls = await tenv.databases(SUBGRAPH_NAMES);
  } catch (error) {
    await tenv.dispose();
    throw error;
  }
  const dataDir = await mkdtemp(join(tmpdir(), "pooya-processes-"));
  const ports = { gateway: await freePort() } as Record<ProcessName, number>;
  for (const name of SUBGRAPH_NAMES) ports[name] = await freePort();
  const url = (name: ProcessName) => `http://127.0.0.1:${ports[name]}`;
  const shared: NodeJS.ProcessEnv = {
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    LOG_LEVEL: "info",
    GATEWAY_JWKS_URL: `${url("gateway")}/.well-known/jwks.json`,
    // Each service's generated keys (its service-token keys, users' token keys) in a folder of this run.
    POOYA_DATA_DIR: dataDir,
    POOYA_ADMIN_EMAIL: PROCESS_ADMIN.email,
    POOYA_ADMIN_PASSWORD: PROCESS_ADMIN.password,
    // Shared by every gateway process, as replicas share it in production: subgraphs accept any of them.
    GATEWAY_SIGNING_KEY: tenv.env.GATEWAY_SIGNING_KEY,
    // As in createTenv: these tests count what reaches each subgraph (logs, breakers, faults),
    // so the gateway's entity cache is off unless a test turns it on.
    CACHE: tenv.env.CACHE,
    ...options.env,
  };
  const envOf = (name: ProcessName): NodeJS.ProcessEnv => {
    if (name === "gateway") {
      const issuer = accessTokenIssuer();
      return {
        ...shared,
        PORT: String(ports.gateway),
        ACCESS_TOKEN_JWKS_URL: `${url(issuer.name)}${issuer.keysPath}`,
        ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [serviceUrlVariable(n), url(n)])),
      };
    }
    const descriptor = SUBGRAPHS.find((s) => s.name === name)!;
    return {
      ...shared,
      PORT: String(ports[name]),
      [`${name.toUpperCase()}_DATABASE_URL`]: databaseUrls[name],
      // The services it calls, and those that call it (it reads their keys).
      ...Object.fromEntries(
        [...descriptor.calls, ...callersOf(descriptor.internalRoutes ?? [])]
          .filter((peer) => peer !== "gateway")
          .map((peer) => [serviceUrlVariable(peer), url(peer as ProcessName)]),
      ),
    };
  };
  const sourceOf = (name: ProcessName) => (name === "gateway" ? "gateway" : `subgraphs/${name}`);
  const entryOf = (name: ProcessName) => `${sourceOf(name)}/${options.built ? "dist/main.mjs" : "src/main.ts"}`;
  const processes = {} as Record<ProcessName, ServiceProcess>;

  // The V8 flags its image starts it with; from the build also with source maps, as images run.
  const builtOptions = (name: ProcessName) => ({
    ...(options.built
      ? { cwd: join(options.built.dir, name), nodeArgs: ["--enable-source-maps", ...nodeFlagsOf(name)] }
      : { nodeArgs: nodeFlagsOf(name) }),
    prefix: options.prefixOf?.(name) ?? [],
  });

  async function start(name: ProcessName, extraEnv: NodeJS.ProcessEnv = {}) {
    processes[name] = spawnService(
      name,
      entryOf(name),
      { ...envOf(name), ...extraEnv },
      ports[name],
      builtOptions(name),
    );
    await waitUntilReady(processes[name], options.readyTimeoutMs);
    return processes[name];
  }

  try {
    // All at once: each one's readiness needs only its own database; calls between them are made per request.
    await Promise.all([...SUBGRAPH_NAMES, "gateway" as const].map((name) => start(name)));
  } catch (error) {
    await Promise.all(Object.values(processes).map((p) => stopProcess(p, "SIGKILL")));
    await tenv.dispose();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  return {
    processes,
    ports,
    databaseUrls,
    /** The test environment under these processes (its gateway key is theirs: tenv.signAssertion). */
    tenv,
    gatewayUrl: `${url("gateway")}/graphql`,
    envOf,
    /** (Re)starts one process with its usual variables, plus `extraEnv`. */
    start,
    /** Sends a signal to one process (SIGSTOP/SIGCONT to hang and resume it, SIGKILL to kill it). */
    signal(name: ProcessName, signal: NodeJS.Signals) {
      processes[name].child.kill(signal);
    },
    /**
     * A graceful restart as a supervisor does it. With REUSE_PORT (both processes on the port at
     * once): the new process starts, and once it listens (it listens only when ready) the old one
     * gets SIGTERM and drains, so there is no moment when nothing listens. Without it: SIGTERM,
     * and the new process starts once the old one has stopped listening. The old exit code.
     */
    async restart(name: ProcessName, extraEnv: NodeJS.ProcessEnv = {}) {
      const old = processes[name];
      if (old.env.REUSE_PORT === "true") {
        const next = spawnService(
          name,
          entryOf(name),
          { ...envOf(name), ...extraEnv },
          ports[name],
          builtOptions(name),
        );
        await waitUntilListening(next);
        processes[name] = next;
        return stopProcess(old, "SIGTERM");
      }
      const exited = stopProcess(old, "SIGTERM");
      for (const deadline = Date.now() + 30_000; Date.now() < deadline && old.child.exitCode === null;) {
        const listening = await fetch(`${old.url}/healthz`).then(
          () => true,
          () => false,
        );
        if (!listening) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await start(name, extraEnv);
      return exited;
    },
    async close() {
      await Promise.all(Object.values(processes).map((p) => stopProcess(p, "SIGKILL")));
      await tenv.dispose();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export type Processes = Awaited<ReturnType<typeof startProcesses>>;
