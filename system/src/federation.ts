// The whole federation in one process: every subgraph of the registry and the gateway, each
// configured through its own variables (the same schema its main.ts reads), talking over HTTP.
// `npm start` and the test harness both start it, so the tests exercise the wiring people run.
import { ConfigError, callersOf, readAll, readServiceEnv, serviceUrlVariable, type Logger } from "@pooya/runtime";
import type { RunningGateway } from "@pooya/gateway";
import {
  GATEWAY,
  SUBGRAPH_NAMES,
  accessTokenIssuer,
  checkInternalRoutes,
  startOrder,
  subgraph,
  type Subgraph,
  type SubgraphName,
} from "./registry.ts";

type Running<N extends SubgraphName> = Awaited<ReturnType<Extract<Subgraph, { name: N }>["start"]>>;
export type RunningServices = { [N in SubgraphName]: Running<N> };

export interface FederationOptions {
  /** What every service reads (secrets, NODE_ENV, LOG_LEVEL, HOST, …). */
  env: NodeJS.ProcessEnv;
  /** Each subgraph's own variables on top: its database URL, its PORT (0: any free port; fixed for a service that calls
   * others, whose keys they fetch from it). */
  subgraphs: Record<SubgraphName, NodeJS.ProcessEnv>;
  /** The gateway's own variables on top; its PORT must be known up front (subgraphs fetch its JWKS). */
  gateway: NodeJS.ProcessEnv;
  /** One logger per service, all writing to one output. */
  logFor: (service: string) => Logger;
}

const PLACEHOLDER_URL = "http://127.0.0.1:1";

const reachable = (host: string | undefined) => (!host || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host);

/** The services `name` calls and the subgraphs that call it: each one's `<NAME>_URL` is set for it (the gateway, a
 * caller of event feeds, is found through GATEWAY_JWKS_URL). */
const peersOf = (name: SubgraphName): SubgraphName[] => {
  const descriptor = subgraph(name);
  return [...new Set([...descriptor.calls, ...callersOf(descriptor.internalRoutes ?? [])])].filter((peer) =>
    SUBGRAPH_NAMES.includes(peer as SubgraphName),
  ) as SubgraphName[];
};

/** Every service's variables checked before anything starts; all problems at once. */
export function checkFederationEnv(options: Omit<FederationOptions, "logFor">): void {
  const problems = checkInternalRoutes();
  if (problems.length) throw new ConfigError(problems);
  const readers: Record<string, () => unknown> = {};
  for (const name of SUBGRAPH_NAMES) {
    const descriptor = subgraph(name);
    const peers = Object.fromEntries(peersOf(name).map((peer) => [serviceUrlVariable(peer), PLACEHOLDER_URL]));
    readers[name] = () =>
      readServiceEnv(descriptor, {
        ...options.env,
        GATEWAY_JWKS_URL: PLACEHOLDER_URL,
        ...peers,
        ...options.subgraphs[name],
      });
  }
  readers.gateway = () =>
    readServiceEnv(GATEWAY, { ...options.env, ACCESS_TOKEN_JWKS_URL: PLACEHOLDER_URL, ...options.gateway });
  readAll(readers);
}

export async function startFederation(options: FederationOptions) {
  checkFederationEnv(options);
  const host = reachable(options.env.HOST);
  const gatewayPort = Number(options.gateway.PORT ?? options.env.PORT);
  if (!gatewayPort)
    throw new ConfigError(["PORT: the gateway's port must be known before the subgraphs start (they fetch its keys)"]);
  const gatewayJwksUrl = `http://${host}:${gatewayPort}/.well-known/jwks.json`;
  const services = {} as RunningServices;
  const ports = {} as Record<SubgraphName, number>;
  // A caller's address must be known before the services it calls start (they fetch its keys from it).
  const fixedPort = (name: SubgraphName) => Number(options.subgraphs[name]?.PORT ?? 0);
  const callers = new Set(
    SUBGRAPH_NAMES.flatMap((name) => callersOf(subgraph(name).internalRoutes ?? [])).filter(
      (caller) => caller !== GATEWAY.name,
    ),
  );
  const unknown = [...callers].filter((name) => !fixedPort(name as SubgraphName));
  if (unknown.length) {
    const problem = (name: string) =>
      `${name}: PORT must be known before the services it calls start (they fetch its keys)`;
    throw new ConfigError(unknown.map(problem));
  }
  const urlOf = (name: SubgraphName) => services[name]?.url ?? `http://${host}:${fixedPort(name)}`;

  async function startService<N extends SubgraphName>(name: N): Promise<Running<N>> {
    const descriptor = subgraph(name);
    const peers = Object.fromEntries(peersOf(name).map((peer) => [serviceUrlVariable(peer), urlOf(peer)]));
    const env = {
      ...options.env,
      GATEWAY_JWKS_URL: gatewayJwksUrl,
      ...peers,
      ...options.subgraphs[name],
      // A restart comes back on the port it had.
      ...(ports[name] ? { PORT: String(ports[name]) } : {}),
    };
    const vars = readServiceEnv(descriptor, env);
    const running = (await descriptor.start(vars as never, { log: options.logFor(name) })) as Running<N>;
    services[name] = running as RunningServices[N];
    ports[name] = Number(new URL(running.url).port);
    return running;
  }

  const started: SubgraphName[] = [];
  try {
    for (const name of startOrder()) {
      await startService(name);
      started.push(name);
    }
    const issuer = accessTokenIssuer();
    const gatewayEnv = {
      ...options.env,
      ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [serviceUrlVariable(name), services[name].url])),
      ACCESS_TOKEN_JWKS_URL: `${services[issuer.name].url}${issuer.keysPath}`,
      ...options.gateway,
      PORT: String(gatewayPort),
    };
    const gateway = (await GATEWAY.start(readServiceEnv(GATEWAY, gatewayEnv), {
      log: options.logFor("gateway"),
    })) as RunningGateway;
    let stopping: string | undefined;
    return {
      gateway,
      services,
      startService,
      stopService: (name: SubgraphName) => services[name].stop(),
      /** The gateway, then each subgraph after those that consume its events. */
      async stop() {
        stopping = "gateway";
        await gateway.stop().catch((error) => options.logFor("gateway").error({ err: error }, "stopping failed"));
        for (const name of [...startOrder()].reverse()) {
          stopping = name;
          await services[name].stop().catch((error) => options.logFor(name).error({ err: error }, "stopping failed"));
        }
        stopping = undefined;
      },
      /** The service stop() is waiting for (for a shutdown that overruns its deadline). */
      stopping: () => stopping,
    };
  } catch (error) {
    for (const name of started.reverse()) await services[name].stop().catch(() => undefined);
    throw error;
  }
}

export type Federation = Awaited<ReturnType<typeof startFederation>>;
