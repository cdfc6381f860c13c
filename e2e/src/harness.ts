// One harness for every end-to-end test: fresh databases, the real subgraphs and the real
// gateway on free ports (in this process, over HTTP), and helpers to call them.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { IDENTITY_ASSERTION_HEADER, createIdentityAssertionSigner, exportPrivateJwk, generateSigningKey, type SigningKey, type Viewer } from "@pooya/platform";
import { SERVICE_NAMES, startFederation as startRunningFederation, type Federation as RunningFederation, type ServiceName } from "../../scripts/lib/federation.ts";
import { createDatabases } from "./databases.ts";
import { freePort } from "./free-port.ts";

export { SERVICE_NAMES, type ServiceName };

export const ADMIN = { email: "admin@pooya.test", password: "admin-password-1" };

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

export interface ExecuteOptions {
  query: string;
  variables?: Record<string, unknown>;
  token?: string;
  headers?: Record<string, string>;
}

export async function postGraphQL<T = Record<string, any>>(url: string, options: ExecuteOptions): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query: options.query, variables: options.variables }),
  });
  const text = await response.text();
  let body: { data?: T | null; errors?: GraphQLResponse<T>["errors"] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${response.status}, not JSON: ${text.slice(0, 300)}`);
  }
  return { status: response.status, ...body };
}

export async function startFederation(options: { attendancePollIntervalMs?: number; previousUsersKeys?: SigningKey[] } = {}) {
  const databases = await createDatabases(SERVICE_NAMES);
  const serviceSecret = randomBytes(32).toString("base64url");
  const gatewayKey = await generateSigningKey();
  // The users service signs with a key the tests know, so they can forge expired or foreign tokens.
  const usersKey = await generateSigningKey();
  const usersSigningKeys = JSON.stringify(await Promise.all([usersKey, ...(options.previousUsersKeys ?? [])].map(exportPrivateJwk)));
  let federation: RunningFederation;
  try {
    federation = await startRunningFederation({
      databaseUrls: databases.urls as Record<ServiceName, string>,
      host: "127.0.0.1",
      ports: { gateway: await freePort(), users: 0, courses: 0, attendance: 0, food: 0 },
      serviceSecret,
      gatewayKey,
      users: { admin: ADMIN, signingKeys: { env: usersSigningKeys } },
      attendancePollIntervalMs: options.attendancePollIntervalMs ?? 200,
    });
  } catch (error) {
    await databases.drop();
    throw error;
  }
  const { gateway, services } = federation;

  // The tests' own connections, for fixtures and for checking what was (not) written.
  const pools = Object.fromEntries(SERVICE_NAMES.map((n) => {
    const pool = new pg.Pool({ connectionString: databases.urls[n], max: 2 });
    pool.on("error", () => undefined); // an idle connection closed at teardown is not a test failure
    return [n, pool];
  })) as Record<ServiceName, pg.Pool>;

  const signAssertion = createIdentityAssertionSigner(gatewayKey);

  /** Calls a subgraph directly, as the gateway would (or, with assertion: null, as an outsider). */
  async function callSubgraph<T = Record<string, any>>(name: ServiceName, options: ExecuteOptions & { viewer?: Viewer; assertion?: string | null }) {
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
    databaseUrls: databases.urls as Record<ServiceName, string>,
    db: pools,
    serviceSecret,
    gatewayKey,
    usersKey,
    callSubgraph,
    admin,
    execute,
    login,
    createUser,
    stopService: federation.stopService,
    startService: federation.startService,
    async close() {
      await federation.stop();
      await Promise.all(Object.values(pools).map((p) => p.end()));
      await databases.drop();
    },
  };
}

export type Federation = Awaited<ReturnType<typeof startFederation>>;

/** The `extensions.code` of each error, for compact assertions. */
export function errorCodes(response: GraphQLResponse): (string | undefined)[] {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}
