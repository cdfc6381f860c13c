// The one test environment every harness builds on (in the style of Hive Gateway's `createTenv`):
// the keys a test run signs with, the variables every service reads, fresh databases, and
// services started one at a time — in this process or as their own processes — each on its own
// database, with handles to call them directly as a viewer (a signed identity assertion, as the
// gateway sends) or as a calling service (a service token), and to stop them.
//
//   const tenv = await createTenv();
//   const users = await tenv.service("users");                 // its own fresh database
//   await users.execute({ query: "{ me { id } }", viewer: { userId, role: "STAFF" } });
//   const courses = await tenv.service("courses");              // calls users (started before it)
//   const gateway = await tenv.gateway();                       // over what has been started
//   await tenv.dispose();                                       // stops everything, drops the databases
//
// A service's peers (those it calls, those that call it) are the tenv's running services, or else
// a stand-in of the tenv that publishes the peer's service-token keys and answers nothing else
// (503): a subgraph can be tested alone, and as a calling service, without starting its peers.
// Start the services a subgraph calls before it (their URLs are read when it starts).
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { streamName } from "@pooya/events";
import { callersOf, createLogger, logDestination, readServiceEnv, serviceUrlVariable } from "@pooya/runtime";
import {
  IDENTITY_ASSERTION_HEADER,
  SERVICE_KEYS_PATH,
  SERVICE_TOKEN_HEADER,
  createIdentityAssertionSigner,
  createServiceIdentity,
  exportPrivateJwk,
  generateSigningKey,
  publicKeySet,
  serviceSigningKeysVariable,
  type ServiceIdentity,
  type SigningKey,
  type Viewer,
} from "@pooya/identity";
import {
  GATEWAY,
  SUBGRAPH_NAMES,
  accessTokenIssuer,
  createDatabases,
  nodeFlagsOf,
  subgraph,
  type Federation as RunningFederation,
  type RunningServices,
  type SubgraphName,
} from "@pooya/system";
import { freePort, retryWhilePortTaken } from "./free-port.ts";
import { spawnService, stopProcess, waitUntilReady, type ServiceProcess } from "./spawn.ts";

export const ADMIN = { email: "admin@pooya.test", password: "admin-password-1" };

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers?: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
  extensions?: Record<string, unknown>;
}

export interface ExecuteOptions {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  extensions?: Record<string, unknown>;
  token?: string;
  headers?: Record<string, string>;
}

export async function postGraphQL<T = Record<string, any>>(
  url: string,
  options: ExecuteOptions,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({
      query: options.query,
      variables: options.variables,
      operationName: options.operationName,
      extensions: options.extensions,
    }),
  });
  const text = await response.text();
  let body: { data?: T | null; errors?: GraphQLResponse<T>["errors"] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${response.status}, not JSON: ${text.slice(0, 300)}`);
  }
  return { status: response.status, headers: response.headers, ...body };
}

/** The `extensions.code` of each error, for compact assertions. */
export function errorCodes(response: GraphQLResponse): (string | undefined)[] {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}

/** A direct call to a subgraph: as `viewer` (signed as the gateway signs), or with a given `assertion` (null: none). */
export interface SubgraphCallOptions extends ExecuteOptions {
  viewer?: Viewer;
  assertion?: string | null;
  /** The client's address the assertion carries (per-client limits key on it). */
  clientIp?: string;
}

/** An answer of an internal route. */
export interface InternalResponse {
  status: number;
  headers: Headers;
  json: Record<string, any>;
}

export interface TenvOptions {
  /** Variables on top of the tenv's own, for every service it starts. With `NATS_URL` the tenv uses a subject
   * prefix (and stream) of its own, deleted at dispose. */
  env?: NodeJS.ProcessEnv;
  /** Older users signing keys, still published (after the current one). */
  previousUsersKeys?: SigningKey[];
}

export interface ServiceOptions {
  /** Its variables on top of the tenv's. */
  env?: NodeJS.ProcessEnv;
  /** Its own process (`node subgraphs/<name>/src/main.ts`, as its container runs) instead of this one. */
  process?: boolean;
  /** A database of the tenv's already (a replica: a second instance on the same data); a fresh one otherwise. */
  databaseUrl?: string;
}

export type Tenv = Awaited<ReturnType<typeof createTenv>>;
/** A subgraph the tenv started. */
export interface ServiceHandle<N extends SubgraphName = SubgraphName> {
  name: N;
  /** Base URL (http://127.0.0.1:port). */
  url: string;
  graphqlUrl: string;
  databaseUrl: string;
  /** A pool of the test's own on its database (fixtures, checking what was written). */
  readonly db: pg.Pool;
  /** The running service when it runs in this process (its exposed parts: sqlStatements, replica, jwksUrl, …). */
  running: RunningServices[N] | undefined;
  /** Its process when it runs as one (output, log lines, exit code). */
  process: ServiceProcess | undefined;
  /** A GraphQL request to it as the gateway sends one: as `viewer` (anonymous by default), or with `assertion`. */
  execute<T = Record<string, any>>(call: SubgraphCallOptions): Promise<GraphQLResponse<T>>;
  /** A request to one of its internal routes as service `as` (a genuine service token), or with `token` (null: none). */
  internal(
    path: string,
    call: { as?: string; token?: string | null; method?: "GET" | "POST"; body?: unknown },
  ): Promise<InternalResponse>;
  /** Stops it: gracefully in this process; a process gets `signal` (SIGTERM by default) and is awaited. */
  kill(signal?: NodeJS.Signals): Promise<unknown>;
}
export type GatewayHandle = Awaited<ReturnType<Tenv["gateway"]>>;

export async function createTenv(options: TenvOptions = {}) {
  // Each tenv on a broker gets its own subjects and stream: runs never see each other's events.
  const eventsPrefix = options.env?.EVENTS_SUBJECT_PREFIX ?? `t${randomBytes(5).toString("hex")}`;
  const gatewayKey = await generateSigningKey();
  // Each service that calls others signs with a key the tests know, so they can sign as it (or forge).
  // The gateway too: it reads the producers' event feeds.
  const callers = [...SUBGRAPH_NAMES.filter((name) => subgraph(name).calls.length > 0), GATEWAY.name] as const;
  const serviceKeys: Partial<Record<SubgraphName | "gateway", SigningKey>> = {};
  for (const name of callers) serviceKeys[name] = await generateSigningKey();
  // The users service signs access tokens with a key the tests know, so they can forge expired or foreign ones.
  const usersKey = await generateSigningKey();
  const level = process.env.TEST_LOG_LEVEL ?? "warn";
  const destination = logDestination("json");

  /** What every service of the tenv reads. */
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOST: "127.0.0.1",
    ...Object.fromEntries(
      await Promise.all(
        Object.entries(serviceKeys).map(async ([name, key]) => [
          serviceSigningKeysVariable(name),
          JSON.stringify([await exportPrivateJwk(key)]),
        ]),
      ),
    ),
    USERS_SIGNING_KEYS: JSON.stringify(
      await Promise.all([usersKey, ...(options.previousUsersKeys ?? [])].map(exportPrivateJwk)),
    ),
    POOYA_ADMIN_EMAIL: ADMIN.email,
    POOYA_ADMIN_PASSWORD: ADMIN.password,
    EVENTS_SUBJECT_PREFIX: eventsPrefix,
    GATEWAY_SIGNING_KEY: JSON.stringify(await exportPrivateJwk(gatewayKey)),
    LOG_LEVEL: level,
    // Every test client is 127.0.0.1: per-client limits would throttle the tests themselves.
    LOGIN_LIMIT_PER_CLIENT: "1000000",
    REGISTER_LIMIT_PER_CLIENT: "1000000",
    REFRESH_LIMIT_PER_CLIENT: "1000000",
    // Many tests write fixtures straight into the databases (no event to evict what a gateway
    // cached): the entity cache is on only where a test asks for it (e2e/test/entity-cache.test.ts).
    CACHE: "off",
    ...options.env,
  };

  const signAssertion = createIdentityAssertionSigner(gatewayKey);
  const identities = new Map<string, ServiceIdentity>();
  /** A service token of `caller` for `callee` (signed with the caller's tenv key; a fresh one for a service without). */
  async function serviceToken(caller: string, callee: string): Promise<string> {
    let identity = identities.get(caller);
    if (!identity) {
      const key = serviceKeys[caller as SubgraphName | "gateway"] ?? (await generateSigningKey());
      identities.set(caller, (identity = createServiceIdentity(caller, [key])));
    }
    return identity.tokenFor(callee);
  }

  // At dispose: what was started (last first), then the test's pools, then the databases.
  const stops: (() => Promise<unknown>)[] = [];
  const drops: (() => Promise<unknown>)[] = [];
  const cleanup = (work: () => Promise<unknown>) => void stops.push(work);

  // The stand-in: the gateway's public keys (what subgraphs verify assertions with) at
  // /.well-known/jwks.json, and at /<service>/… each service's service-token keys; nothing else.
  const standIn = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "/").split("?")[0]!;
    const send = (status: number, body: unknown) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (path === "/.well-known/jwks.json") return send(200, publicKeySet([gatewayKey]));
    // Beside them, the gateway's service-token keys (subgraphs find them through GATEWAY_JWKS_URL).
    if (path === SERVICE_KEYS_PATH) return send(200, publicKeySet([serviceKeys.gateway!]));
    const [, name, ...rest] = path.split("/");
    const key = serviceKeys[name as SubgraphName];
    if (`/${rest.join("/")}` === SERVICE_KEYS_PATH && key) return send(200, publicKeySet([key]));
    send(503, { errors: [{ message: `${name} is not running in this test environment` }] });
  });
  await new Promise<void>((resolve) => standIn.listen(0, "127.0.0.1", resolve));
  const standInUrl = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
  cleanup(() => new Promise((resolve) => standIn.close(resolve)));
  standIn.unref();

  const running = new Map<SubgraphName, { url: string }>();
  const urlOf = (name: SubgraphName) => running.get(name)?.url ?? `${standInUrl}/${name}`;

  /** Fresh databases for `names`, dropped at dispose. */
  async function databases<N extends string>(names: readonly N[]): Promise<Record<N, string>> {
    const created = await createDatabases(names);
    drops.push(() => created.drop());
    return created.urls as Record<N, string>;
  }

  const pools: pg.Pool[] = [];
  /** A pool of the test's own on `url` (fixtures, checking what was written); ended at dispose. */
  function pool(url: string): pg.Pool {
    const created = new pg.Pool({ connectionString: url, max: 2 });
    created.on("error", () => undefined); // an idle connection closed at teardown is not a test failure
    pools.push(created);
    return created;
  }

  const logFor = (service: string) => createLogger({ service, level, destination });

  /** The variables `name` is started with: the tenv's, its database, its peers and the gateway's keys. */
  function serviceEnv(name: SubgraphName, databaseUrl: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const descriptor = subgraph(name);
    const peers = [...new Set([...descriptor.calls, ...callersOf(descriptor.internalRoutes ?? [])])].filter(
      (peer) => peer !== GATEWAY.name,
    ) as SubgraphName[];
    return {
      ...env,
      GATEWAY_JWKS_URL: `${standInUrl}/.well-known/jwks.json`,
      ...Object.fromEntries(peers.map((peer) => [serviceUrlVariable(peer), urlOf(peer)])),
      [`${name.toUpperCase()}_DATABASE_URL`]: databaseUrl,
      ...extra,
    };
  }

  /** Starts `name` on a fresh database of its own (or `databaseUrl`), in this process or as a process of its own. */
  async function service<N extends SubgraphName>(
    name: N,
    serviceOptions: ServiceOptions = {},
  ): Promise<ServiceHandle<N>> {
    const databaseUrl = serviceOptions.databaseUrl ?? (await databases([name]))[name];
    let instance: { url: string; graphqlUrl: string; stop(signal?: NodeJS.Signals): Promise<unknown> };
    let inProcess: RunningServices[N] | undefined;
    let child: ServiceProcess | undefined;
    if (serviceOptions.process) {
      child = await retryWhilePortTaken(async () => {
        const port = await freePort();
        const spawned = spawnService(
          name,
          `subgraphs/${name}/src/main.ts`,
          serviceEnv(name, databaseUrl, { PORT: String(port), ...serviceOptions.env }),
          port,
          { nodeArgs: nodeFlagsOf(name) },
        );
        try {
          await waitUntilReady(spawned);
        } catch (error) {
          await stopProcess(spawned, "SIGKILL");
          throw error;
        }
        return spawned;
      });
      const spawned = child;
      instance = {
        url: spawned.url,
        graphqlUrl: `${spawned.url}/graphql`,
        stop: (signal: NodeJS.Signals = "SIGTERM") => stopProcess(spawned, signal),
      };
    } else {
      const vars = readServiceEnv(subgraph(name), serviceEnv(name, databaseUrl, { PORT: "0", ...serviceOptions.env }));
      inProcess = (await subgraph(name).start(vars as never, { log: logFor(name) })) as RunningServices[N];
      instance = inProcess;
    }
    // The first instance of a name is the one its peers started later reach.
    if (!running.has(name)) running.set(name, instance);
    let stopped: Promise<unknown> | undefined;
    const stop = (signal?: NodeJS.Signals) => {
      stopped ??= instance.stop(signal).catch(() => undefined);
      if (running.get(name) === instance) running.delete(name);
      return stopped;
    };
    cleanup(() => stop("SIGKILL"));
    let db: pg.Pool | undefined;

    return {
      name,
      url: instance.url,
      graphqlUrl: instance.graphqlUrl,
      databaseUrl,
      get db(): pg.Pool {
        return (db ??= pool(databaseUrl));
      },
      running: inProcess,
      process: child,
      async execute<T = Record<string, any>>(call: SubgraphCallOptions) {
        const assertion =
          call.assertion === undefined ? await signAssertion(call.viewer ?? null, call.clientIp) : call.assertion;
        return postGraphQL<T>(instance.graphqlUrl, {
          ...call,
          headers: { ...(assertion ? { [IDENTITY_ASSERTION_HEADER]: assertion } : {}), ...call.headers },
        });
      },
      async internal(path, call) {
        const token = call.token === undefined ? await serviceToken(call.as!, name) : call.token;
        const response = await fetch(`${instance.url}${path}`, {
          method: call.method ?? (call.body === undefined ? "GET" : "POST"),
          headers: {
            ...(token ? { [SERVICE_TOKEN_HEADER]: token } : {}),
            ...(call.body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: call.body === undefined ? undefined : JSON.stringify(call.body),
        });
        const text = await response.text();
        return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : {} };
      },
      kill: stop,
    };
  }

  /** A gateway (in this process) over the services started so far, signing with the tenv's gateway key. */
  async function gateway(gatewayOptions: { env?: NodeJS.ProcessEnv } = {}) {
    const issuer = accessTokenIssuer();
    const vars = readServiceEnv(GATEWAY, {
      ...env,
      ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [serviceUrlVariable(name), urlOf(name)])),
      ACCESS_TOKEN_JWKS_URL: `${urlOf(issuer.name)}${issuer.keysPath}`,
      PORT: "0",
      ...gatewayOptions.env,
    });
    const started = (await GATEWAY.start(vars as never, { log: logFor("gateway") })) as RunningFederation["gateway"];
    let stopped: Promise<unknown> | undefined;
    const stop = () => (stopped ??= started.stop().catch(() => undefined));
    cleanup(stop);
    const execute = <T = Record<string, any>>(call: ExecuteOptions) => postGraphQL<T>(started.graphqlUrl, call);
    return {
      url: started.url,
      graphqlUrl: started.graphqlUrl,
      running: started,
      execute,
      /** Signs in through it: the access token and the user's id. */
      async login(email: string, password: string): Promise<{ token: string; userId: string }> {
        const r = await execute({
          query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`,
          variables: { e: email, p: password },
        });
        if (!r.data?.login) throw new Error(`login failed: ${JSON.stringify(r.errors)}`);
        return { token: r.data.login.accessToken, userId: r.data.login.user.id };
      },
      kill: stop,
    };
  }

  return {
    /** The variables every service of the tenv reads (its keys, the admin, the event prefix, log level). */
    env,
    eventsPrefix,
    /** The keys the tenv's services sign with: the gateway's assertions, users' access tokens, each caller's service tokens. */
    keys: { gateway: gatewayKey, users: usersKey, services: serviceKeys },
    /** Where services reach a peer that is not running, and the gateway's public keys. */
    standInUrl,
    logFor,
    databases,
    pool,
    serviceEnv,
    /** An identity assertion for `viewer` (null: anonymous), as the gateway signs one. */
    signAssertion,
    serviceToken,
    service,
    gateway,
    /** Runs `work` at dispose (before what was registered earlier). */
    cleanup,
    /** Stops everything it started (last first), ends the pools, drops the databases. */
    async dispose() {
      for (let work = stops.pop(); work; work = stops.pop()) await work().catch(() => undefined);
      await Promise.all(pools.splice(0).map((p) => p.end().catch(() => undefined)));
      // In parallel: each drop waits for its database's last connections to go away.
      await Promise.all(drops.splice(0).map((drop) => drop().catch(() => undefined)));
      if (env.NATS_URL) await deleteStream(env.NATS_URL, eventsPrefix).catch(() => undefined);
    },
  };
}

/** Deletes a test run's event stream from the broker (tests clean up after themselves). */
export async function deleteStream(natsUrl: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(","), timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(streamName(prefix)).catch(() => undefined);
  } finally {
    await nc.close();
  }
}
