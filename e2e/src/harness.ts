// The whole federation on fresh databases: the real subgraphs and the real gateway on free ports
// (in this process, over HTTP, wired by @pooya/system exactly as `npm start` wires them), and
// helpers to call them. A layer over createTenv (tenv.ts): its keys, variables, databases and
// signed calls; tests of one subgraph use createTenv directly (subgraphs/<name>/test/).
import { randomBytes } from "node:crypto";
import { readServiceEnv, serviceUrlVariable } from "@pooya/runtime";
import { IDENTITY_ASSERTION_HEADER, type SigningKey } from "@pooya/identity";
import {
  GATEWAY,
  SUBGRAPH_NAMES,
  accessTokenIssuer,
  startFederation as startRunningFederation,
  subgraph,
  type Federation as RunningFederation,
  type SubgraphName,
} from "@pooya/system";
import { freePort, retryWhilePortTaken } from "./free-port.ts";
import { ADMIN, createTenv, postGraphQL, type ExecuteOptions, type SubgraphCallOptions } from "./tenv.ts";

export { SUBGRAPH_NAMES as SERVICE_NAMES, type SubgraphName as ServiceName };
export {
  ADMIN,
  deleteStream,
  errorCodes,
  postGraphQL,
  type ExecuteOptions,
  type GraphQLResponse,
  type SubgraphCallOptions,
} from "./tenv.ts";

export interface HarnessOptions {
  /** With a broker: `env.NATS_URL`; the harness then uses a subject prefix (and stream) of its own, deleted at close. */
  previousUsersKeys?: SigningKey[];
  /** Variables on top of the harness's own, for every service. */
  env?: NodeJS.ProcessEnv;
}

export async function startFederation(options: HarnessOptions = {}) {
  const tenv = await createTenv(options);
  let databaseUrls: Record<SubgraphName, string>;
  try {
    databaseUrls = await tenv.databases(SUBGRAPH_NAMES);
  } catch (error) {
    await tenv.dispose();
    throw error;
  }
  const { eventsPrefix, logFor } = tenv;
  const baseEnv = tenv.env;
  let federation: RunningFederation;
  try {
    // The ports are picked before anything listens (the subgraphs must know the gateway's address,
    // and the services they call must know theirs), so another process can take one in between:
    // then the federation starts again on new ones.
    federation = await retryWhilePortTaken(async () =>
      startRunningFederation({
        env: baseEnv,
        subgraphs: Object.fromEntries(
          await Promise.all(
            SUBGRAPH_NAMES.map(async (name) => [
              name,
              { PORT: String(await freePort()), [`${name.toUpperCase()}_DATABASE_URL`]: databaseUrls[name] },
            ]),
          ),
        ) as unknown as Record<SubgraphName, NodeJS.ProcessEnv>,
        gateway: { PORT: String(await freePort()) },
        logFor,
      }),
    );
  } catch (error) {
    await tenv.dispose();
    throw error;
  }
  const { gateway, services } = federation;
  const extraGateways: RunningFederation["gateway"][] = [];
  const extraServices: { stop(): Promise<void> }[] = [];

  // The tests' own connections, for fixtures and for checking what was (not) written.
  const pools = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, tenv.pool(databaseUrls[n])])) as Record<
    SubgraphName,
    ReturnType<typeof tenv.pool>
  >;

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

  /** Calls a subgraph directly, as the gateway would (or, with assertion: null, as an outsider). */
  async function callSubgraph<T = Record<string, any>>(name: SubgraphName, call: SubgraphCallOptions) {
    const assertion =
      call.assertion === undefined ? await tenv.signAssertion(call.viewer ?? null, call.clientIp) : call.assertion;
    return postGraphQL<T>(services[name].graphqlUrl, {
      ...call,
      headers: { ...(assertion ? { [IDENTITY_ASSERTION_HEADER]: assertion } : {}), ...call.headers },
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
    databaseUrls,
    db: pools,
    /** The keys each calling service signs its service tokens with. */
    serviceKeys: tenv.keys.services,
    gatewayKey: tenv.keys.gateway,
    usersKey: tenv.keys.users,
    /** The test environment under this federation. */
    tenv,
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
        log: logFor("gateway"),
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
        [`${name.toUpperCase()}_DATABASE_URL`]: databaseUrls[name],
        PORT: "0",
        ...env,
      });
      const extra = (await descriptor.start(vars as never, {
        log: logFor(name),
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
      await tenv.dispose();
    },
  };
}

export type Federation = Awaited<ReturnType<typeof startFederation>>;
