// Wires the users subgraph together; its descriptor (index.ts) starts it from checked variables.
import { fileURLToPath } from "node:url";
import { HttpError, applyMigrations, brokerFor, callerUrls, createMetrics, eventSettings, startEventProducer, createRateLimitStore, isUuid, serveSubgraph, subgraphSettings, type EnvValues, type Logger } from "@pooya/platform";
import { connectUsersDb } from "./db.ts";
import { createAccounts } from "./accounts.ts";
import { createUsersOutbox } from "./outbox.ts";
import { createLoaders, type UsersContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { loadSigningKeys, signingKeysFile } from "./auth/signing-keys.ts";
import { createAccessTokenIssuer } from "./auth/tokens.ts";
import { ACCESS_TOKEN_KEYS_PATH, USERS_LOOKUP_PATH } from "./directory-client.ts";
import { usersInternalRoutes } from "./internal-routes.ts";
import type { UsersEnv } from "./env.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/users/migrations", import.meta.url));

export async function startUsersService(vars: EnvValues<UsersEnv>, log: Logger) {
  const settings = subgraphSettings("users", vars);
  await applyMigrations(settings.databaseUrl, MIGRATIONS_DIR, log);
  const db = connectUsersDb(settings.databaseUrl, { poolSize: settings.databasePoolSize, log });
  const signingKeys = await loadSigningKeys(vars.USERS_SIGNING_KEYS ? { jwks: vars.USERS_SIGNING_KEYS } : { file: signingKeysFile(vars.POOYA_DATA_DIR) });
  const accessTokens = createAccessTokenIssuer(signingKeys, { issuer: vars.TOKEN_ISSUER, audience: vars.TOKEN_AUDIENCE });
  const metrics = createMetrics("users");
  const logins = metrics.counter("users_logins_total", "login calls, by outcome: ok, or the error code (UNAUTHENTICATED: wrong email or password; TOO_MANY_REQUESTS: throttled)", ["outcome"] as const);
  const rateLimits = createRateLimitStore({ redisUrl: vars.REDIS_URL, prefix: "pooya:users", log });
  const outbox = createUsersOutbox(db);
  const events = eventSettings(vars);
  const broker = brokerFor("users", events, log);
  const producer = startEventProducer({ service: "users", outbox, pool: db.pool, broker, settings: events, log, metrics });
  const accounts = createAccounts(db, outbox, accessTokens, {
    perAccountAndClient: rateLimits.limit("login-account-client", { points: vars.LOGIN_LIMIT_PER_ACCOUNT_AND_CLIENT, windowSeconds: 15 * 60 }),
    unknownAccount: rateLimits.limit("login-unknown-account", { points: vars.LOGIN_LIMIT_PER_ACCOUNT, windowSeconds: 60 * 60 }),
    accountCeiling: vars.LOGIN_LIMIT_PER_ACCOUNT,
    accountWindowMs: 60 * 60 * 1000,
  }, { login: (outcome) => logins.inc({ outcome }) });
  if (vars.POOYA_ADMIN_EMAIL && vars.POOYA_ADMIN_PASSWORD) {
    if (await accounts.ensureAdmin(vars.POOYA_ADMIN_EMAIL, vars.POOYA_ADMIN_PASSWORD)) log.info({ email: vars.POOYA_ADMIN_EMAIL }, "first STAFF account created");
  }

  const service = await serveSubgraph<UsersContext>({
    name: "users",
    settings,
    log,
    metrics,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    internalRoutes: usersInternalRoutes,
    callerUrls: callerUrls(usersInternalRoutes, vars),
    createContext: (viewer, caller) => ({ viewer, clientIp: caller.clientIp, db, accounts, loaders: createLoaders(db) }),
    readinessDetails: () => ({ events: producer.status() }),
    beforeStop: async () => producer.closeFeed(),
    async afterStop() {
      await producer.stop();
      await Promise.all([rateLimits.close(), broker?.close()]);
    },
    routes(app) {
      producer.routes(app);
      app.get(ACCESS_TOKEN_KEYS_PATH, async (_request, reply) => {
        void reply.header("cache-control", "public, max-age=300");
        return accessTokens.jwks;
      });
      // Other services ask who a user is (exists? which role?) without reading this database.
      app.post(USERS_LOOKUP_PATH, async (request) => {
        const ids = (request.body as { ids?: unknown } | undefined)?.ids;
        if (!Array.isArray(ids) || ids.length > 1000) throw new HttpError(400, "ids must be an array of at most 1000");
        const users = await db.prisma.user.findMany({ where: { id: { in: ids.filter(isUuid) } }, select: { id: true, role: true, name: true } });
        return { users };
      });
    },
  });
  return { ...service, jwksUrl: `${service.url}${ACCESS_TOKEN_KEYS_PATH}` };
}

export type UsersService = Awaited<ReturnType<typeof startUsersService>>;
