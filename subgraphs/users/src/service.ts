// Wires the users domain into the subgraph kit (the definition is index.ts).
import { HttpError, createRateLimitStore } from "@pooya/runtime";
import { type Outbox } from "@pooya/events";
import { isUuid, wireSubgraph, type DatabaseOf, type TransactionOf } from "@pooya/subgraph-kit";
import { PrismaClient } from "./generated/prisma/client.ts";
import { createAccounts } from "./accounts.ts";
import { createLoaders, type UsersContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { policies } from "./resolvers/policies.ts";
import { loadSigningKeys, signingKeysFile } from "./auth/signing-keys.ts";
import { createAccessTokenIssuer } from "./auth/tokens.ts";
import { ACCESS_TOKEN_KEYS_PATH, USERS_LOOKUP_PATH } from "./directory-client.ts";
import { usersEnv } from "./env.ts";

export type UsersDb = DatabaseOf<typeof PrismaClient>;
export type UsersTransaction = TransactionOf<UsersDb>;
export type UsersOutbox = Outbox<UsersTransaction>;

export default wireSubgraph(
  { client: PrismaClient, resolvers, policies, env: usersEnv },
  async ({ vars, db, outbox, log, metrics, onStop }) => {
    const signingKeys = await loadSigningKeys(
      vars.USERS_SIGNING_KEYS ? { jwks: vars.USERS_SIGNING_KEYS } : { file: signingKeysFile(vars.POOYA_DATA_DIR) },
    );
    const accessTokens = createAccessTokenIssuer(signingKeys, {
      issuer: vars.TOKEN_ISSUER,
      audience: vars.TOKEN_AUDIENCE,
    });
    const logins = metrics.counter(
      "users_logins_total",
      "login calls, by outcome: ok, or the error code (UNAUTHENTICATED: wrong email or password; TOO_MANY_REQUESTS: throttled)",
      ["outcome"] as const,
    );
    const rateLimits = createRateLimitStore({ redisUrl: vars.REDIS_URL, prefix: "pooya:users", log });
    onStop("rate limits", () => rateLimits.close());
    const accounts = createAccounts(
      db,
      outbox,
      accessTokens,
      {
        perAccountAndClient: rateLimits.limit("login-account-client", {
          points: vars.LOGIN_LIMIT_PER_ACCOUNT_AND_CLIENT,
          windowSeconds: 15 * 60,
        }),
        unknownAccount: rateLimits.limit("login-unknown-account", {
          points: vars.LOGIN_LIMIT_PER_ACCOUNT,
          windowSeconds: 60 * 60,
        }),
        accountCeiling: vars.LOGIN_LIMIT_PER_ACCOUNT,
        accountWindowMs: 60 * 60 * 1000,
      },
      { login: (outcome) => logins.inc({ outcome }) },
    );
    if (vars.POOYA_ADMIN_EMAIL && vars.POOYA_ADMIN_PASSWORD) {
      if (await accounts.ensureAdmin(vars.POOYA_ADMIN_EMAIL, vars.POOYA_ADMIN_PASSWORD))
        log.info({ email: vars.POOYA_ADMIN_EMAIL }, "first STAFF account created");
    }
    return {
      context: ({ viewer, clientIp }): UsersContext => ({ viewer, clientIp, db, accounts, loaders: createLoaders(db) }),
      routes(app) {
        app.get(ACCESS_TOKEN_KEYS_PATH, async (_request, reply) => {
          void reply.header("cache-control", "public, max-age=300");
          return accessTokens.jwks;
        });
        // Other services ask who a user is (exists? which role?) without reading this database.
        app.post(USERS_LOOKUP_PATH, async (request) => {
          const ids = (request.body as { ids?: unknown } | undefined)?.ids;
          if (!Array.isArray(ids) || ids.length > 1000)
            throw new HttpError(400, "ids must be an array of at most 1000");
          const users = await db.prisma.user.findMany({
            where: { id: { in: ids.filter(isUuid) } },
            select: { id: true, role: true, name: true },
          });
          return { users };
        });
      },
      expose: ({ url }) => ({ jwksUrl: `${url}${ACCESS_TOKEN_KEYS_PATH}` }),
    };
  },
);
