// One harness for every end-to-end test: fresh databases, the real subgraphs and the real
// gateway on free ports (in this process, over HTTP, wired by @pooya/system exactly as
// `npm start` wires them), and helpers to call them.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { readServiceEnv, serviceUrlVariable, createLogger, logDestination } from "@pooya/runtime";
import {
  IDENTITY_ASSERTION_HEADER,
  createIdentityAssertionSigner,
  serviceSigningKeysVariable,
  exportPrivateJwk,
  generateSigningKey,
  type SigningKey,
  type Viewer,
} from "@pooya/identity";
import { streamName } from "@pooya/events";
import {
  GATEWAY,
  SUBGRAPH_NAMES,
  accessTokenIssuer,
  createDatabases,
  startFederation as startRunningFederation,
  subgraph,
  type Federation as RunningFederation,
  type SubgraphName,
} from "@pooya/system";
import { freePort, retryWhilePortTaken } from "./free-port.ts";

export { SUBGRAPH_NAMES as SERVICE_NAMES, type SubgraphName as ServiceName };

export const ADMIN = { email: "admin@pooya.test", password: "admin-password-1" };

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers?: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
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

export interface HarnessOptions {
  /** With a broker: `env.NATS_URL`; the harness then uses a subject prefix (and stream) of its own, deleted at close. */
  previousUsersKeys?: SigningKey[];
  /** Variables on top of the harness's own, for every service. */
  env?: NodeJS.ProcessEnv;
}

export async function startFederation(options: HarnessOptions = {}) {
  const databases = await createDatabases(SUBGRAPH_NAMES);
  // Each federation on a broker gets its own subjects and stream: runs never see each other's events.
  const eventsPrefix = options.env?.EVENTS_SUBJECT_PREFIX ?? `t${randomBytes(5).toString("hex")}`;
  const gatewayKey = await generateSigningKey();
  // Each service that calls others signs with a key the tests know, so they can sign as it (or forge).
  const callers = SUBGRAPH_NAMES.filter((name) => subgraph(name).calls.length > 0);
  const serviceKeys: Partial<Record<SubgraphName, SigningKey>> = {};
  for (const name of callers) serviceKeys[name] = await generateSigningKey();
  const serviceKeysEnv = Object.fromEntries(
    await Promise.all(
      Object.entries(serviceKeys).map(async ([name, key]) => [
        serviceSigningKeysVariable(name),
        JSON.stringify([await exportPrivateJwk(key)]),
      ]),
    ),
  );
  // The users service signs with a key the tests know, so they can forge expired or foreign tokens.
  const usersKey = await generateSigningKey();
  const usersSigningKeys = JSON.stringify(
    await Promise.all([usersKey, ...(options.previousUsersKeys ?? [])].map(exportPrivateJwk)),
  );
  const destination = logDestination("json");
  const level = process.env.TEST_LOG_LEVEL ?? "warn";
  let federation: RunningFederation;
  let baseEnv: NodeJS.ProcessEnv;
  try {
    // The ports are picked before anything listens (the subgraphs must know the gateway's address,
    // and the services they call must know theirs), so another process can take one in between:
    // then the federation starts again on new ones.
    federation = await retryWhilePortTaken(async () =>
      startRunningFederation({
        env: (baseEnv = {
          PATH: process.env.PATH,
          HOST: "127.0.0.1",
          ...serviceKeysEnv,
          USERS_SIGNING_KEYS: usersSigningKeys,
          POOYA_ADMIN_EMAIL: ADMIN.email,
          POOYA_ADMIN_PASSWORD: ADMIN.password,
          EVENTS_SUBJECT_PREFIX: eventsPrefix,
          GATEWAY_SIGNING_KEY: JSON.stringify(await exportPrivateJwk(gatewayKey)),
          LOG_LEVEL: level,
          // Every test client is 127.0.0.1: per-client limits would throttle the suite itself.
          // (login-abuse.test.ts sets its own.)
          LOGIN_LIMIT_PER_CLIENT: "1000000",
          REGISTER_LIMIT_PER_CLIENT: "1000000",
          REFRESH_LIMIT_PER_CLIENT: "1000000",
          ...options.env,
        }),
        subgraphs: Object.fromEntries(
          await Promise.all(
            SUBGRAPH_NAMES.map(async (name) => [
              name,
              { PORT: String(await freePort()), [`${name.toUpperCase()}_DATABASE_URL`]: databases.urls[name]! },
            ]),
          ),
        ) as unknown as Record<SubgraphName, NodeJS.ProcessEnv>,
        gateway: { PORT: String(await freePort()) },
        logFor: (service) => createLogger({ service, level, destination }),
      }),
    );
  } catch (error) {
    await databases.drop();
    throw error;
  }
  const { gateway, services } = federation;
  const extraGateways: RunningFederation["gateway"][] = [];
  const extraServices: { stop(): Promise<void> }[] = [];

  // The tests' own connections, for fixtures and for checking what was (not) written.
  const pools = Object.fromEntries(
    SUBGRAPH_NAMES.map((n) => {
      const pool = new pg.Pool({ connectionString: databases.urls[n], max: 2 });
      pool.on("error", () => undefined); // an idle connection closed at teardown is not a test failure
      return [n, pool];
    }),
  ) as Record<SubgraphName, pg.Pool>;

  /** "consumer ← source" for each source a consumer has not caught up with (consumers: the services keeping replication cursors; sources: the services they call). */
  async function eventsBehind(): Promise<string[]> {
    const behind: string[] = [];
    for (const consumer of SUBGRAPH_NAMES) {
      const keepsCursors = await pools[consumer]
        .query("SELECT to_regclass('replication_cursors') IS NOT NULL AS has")
        .then((r) => r.rows[0].has as boolean);
      if (!keepsCursors) continue;
      const { rows: cursors } = await pools[consumer].query<{ source: string; last_sequence: string }>(
        "SELECT source, last_sequence::text FROM replication_cursors",
      );
      for (const source of subgraph(consumer).calls as SubgraphName[]) {
        const head = BigInt(
          (await pools[source].query("SELECT coalesce(max(sequence), 0)::text AS head FROM outbox_events")).rows[0]
            .head,
        );
        const cursor = BigInt(cursors.find((c) => c.source === source)?.last_sequence ?? 0);
        if (cursor < head) behind.push(`${consumer} ← ${source} (${cursor}/${head})`);
      }
    }
    return behind;
  }

  const signAssertion = createIdentityAssertionSigner(gatewayKey);

  /** Calls a subgraph directly, as the gateway would (or, with assertion: null, as an outsider). */
  async function callSubgraph<T = Record<string, any>>(
    name: SubgraphName,
    options: ExecuteOptions & { viewer?: Viewer; assertion?: string | null },
  ) {
    const assertion = options.assertion === undefined ? await signAssertion(options.viewer ?? null) : options.assertion;
    return postGraphQL<T>(services[name].graphqlUrl, {
      ...options,
      headers: { ...(assertion ? { [IDENTITY_ASSERTION_HEADER]: assertion } : {}), ...options.headers },
    });
  }

  const execute = <T = Record<string, any>>(options: ExecuteOptions) => postGraphQL<T>(gateway.graphqlUrl, options);

  async function login(email: string, password: string): Promise<{ token: string; userId: string }> {
    const r = await execute({
      query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`,
      variables: { e: email, p: password },
    });
    if (!r.data?.login) throw new Error(`login failed: ${JSON.stringify(r.errors)}`);
    return { token: r.data.login.accessToken, userId: r.data.login.user.id };
  }

  const admin = await login(ADMIN.email, ADMIN.password);
  let userCounter = 0;

  /** A user of the role, created through the API by STAFF, signed in. */
  async function createUser(role: "STUDENT" | "TEACHER" | "STAFF", name?: string) {
    userCounter += 1;
    const email = `${role.toLowerCase()}${userCounter}-${randomBytes(3).toString("hex")}@pooya.test`;
    const password = "password-" + randomBytes(4).toString("hex");
    const r = await execute({
      query: `mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`,
      variables: { i: { email, password, name: name ?? `${role} ${userCounter}`, role } },
      token: admin.token,
    });
    if (!r.data?.createUser) throw new Error(`createUser failed: ${JSON.stringify(r.errors)}`);
    const session = await login(email, password);
    return { id: session.userId, token: session.token, email, password, role };
  }

  return {
    gateway,
    services,
    databaseUrls: databases.urls as Record<SubgraphName, string>,
    db: pools,
    /** The keys each calling service signs its service tokens with. */
    serviceKeys,
    gatewayKey,
    usersKey,
    callSubgraph,
    admin,
    execute,
    login,
    createUser,
    /**
     * One more gateway on the same subgraphs, with the same signing key (subgraphs accept its
     * identity assertions) and `env` on top: to try gateway settings (e.g. TRUSTED_DOCUMENTS)
     * without a second federation. Stopped by close().
     */
    async startGateway(env: NodeJS.ProcessEnv) {
      const issuer = accessTokenIssuer();
      const vars = readServiceEnv(GATEWAY, {
        ...baseEnv,
        ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [serviceUrlVariable(name), services[name].url])),
        ACCESS_TOKEN_JWKS_URL: `${services[issuer.name as SubgraphName].url}${issuer.keysPath}`,
        PORT: "0",
        ...env,
      });
      const extra = (await GATEWAY.start(vars as never, {
        log: createLogger({ service: "gateway", level, destination }),
      })) as RunningFederation["gateway"];
      extraGateways.push(extra);
      return extra;
    },
    /**
     * One more instance of a subgraph on its database (a replica, as a second pod would be), with
     * `env` on top: to try a subgraph's settings (e.g. METRICS_PORT) without a second federation.
     * Stopped by close().
     */
    async startSubgraph<N extends SubgraphName>(name: N, env: NodeJS.ProcessEnv) {
      const descriptor = subgraph(name);
      const vars = readServiceEnv(descriptor, {
        ...baseEnv,
        GATEWAY_JWKS_URL: gateway.jwksUrl,
        // Its callees (it calls them) and its callers (it reads their service-token keys).
        ...Object.fromEntries(
          SUBGRAPH_NAMES.filter((other) => other !== name).map((other) => [
            serviceUrlVariable(other),
            services[other].url,
          ]),
        ),
        [`${name.toUpperCase()}_DATABASE_URL`]: databases.urls[name],
        PORT: "0",
        ...env,
      });
      const extra = (await descriptor.start(vars as never, {
        log: createLogger({ service: name, level, destination }),
      })) as RunningFederation["services"][N];
      extraServices.push(extra);
      return extra;
    },
    stopService: federation.stopService,
    startService: federation.startService,
    eventsPrefix,
    /** Resolves once every consumer has applied every event its sources have committed so far. */
    async eventsSettled(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const behind = await eventsBehind();
        if (behind.length === 0) return;
        if (Date.now() > deadline) throw new Error(`events not applied within ${timeoutMs} ms: ${behind.join(", ")}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async close() {
      for (const extra of [...extraGateways, ...extraServices]) await extra.stop().catch(() => undefined);
      await federation.stop();
      await Promise.all(Object.values(pools).map((p) => p.end()));
      await databases.drop();
      if (options.env?.NATS_URL) await deleteStream(options.env.NATS_URL, eventsPrefix).catch(() => undefined);
    },
  };
}

export type Federation = Awaited<ReturnType<typeof startFederation>>;

/** The `extensions.code` of each error, for compact assertions. */
export function errorCodes(response: GraphQLResponse): (string | undefined)[] {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}

/** Deletes a federation's event stream from the broker (tests clean up after themselves). */
export async function deleteStream(natsUrl: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(","), timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(streamName(prefix)).catch(() => undefined);
  } finally {
    await nc.close();
  }
}
