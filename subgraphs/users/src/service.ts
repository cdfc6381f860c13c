// Wires the users subgraph together; main.ts (production) and the test harness both call it.
import { fileURLToPath } from "node:url";
import { HttpError, applyMigrations, createServiceTokenVerifier, isUuid, serveSubgraph, serviceRoute, type SubgraphServiceConfig } from "@pooya/platform";
import { connectUsersDb } from "./db.ts";
import { createAccounts } from "./accounts.ts";
import { createLoaders, type UsersContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { loadSigningKeys } from "./auth/signing-keys.ts";
import { DEFAULT_TOKEN_AUDIENCE, DEFAULT_TOKEN_ISSUER, createAccessTokenIssuer } from "./auth/tokens.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/users/migrations", import.meta.url));

export interface UsersServiceConfig extends SubgraphServiceConfig {
  signingKeys?: { env?: string; file?: string };
  tokenIssuer?: string;
  tokenAudience?: string;
  admin?: { email: string; password: string };
}

export async function startUsersService(config: UsersServiceConfig) {
  await applyMigrations(config.databaseUrl, MIGRATIONS_DIR);
  const db = connectUsersDb(config.databaseUrl, { poolSize: config.databasePoolSize });
  const accessTokens = createAccessTokenIssuer(await loadSigningKeys(config.signingKeys ?? {}), {
    issuer: config.tokenIssuer ?? DEFAULT_TOKEN_ISSUER,
    audience: config.tokenAudience ?? DEFAULT_TOKEN_AUDIENCE,
  });
  const accounts = createAccounts(db, accessTokens);
  if (config.admin) await accounts.ensureAdmin(config.admin.email, config.admin.password);
  const verifyServiceToken = createServiceTokenVerifier(config.serviceSecret, "users", ["courses", "food", "attendance"]);

  const service = await serveSubgraph<UsersContext>({
    name: "users",
    config,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    createContext: (viewer) => ({ viewer, db, accounts, loaders: createLoaders(db) }),
    routes: {
      "GET /.well-known/jwks.json": async () => ({ status: 200, body: accessTokens.jwks, headers: { "cache-control": "public, max-age=300" } }),
      // Other services ask who a user is (exists? which role?) without reading this database.
      "POST /internal/users/lookup": serviceRoute(verifyServiceToken, async (_, body) => {
        const ids = (body as { ids?: unknown })?.ids;
        if (!Array.isArray(ids) || ids.length > 1000) throw new HttpError(400, "ids must be an array of at most 1000");
        const users = await db.prisma.user.findMany({ where: { id: { in: ids.filter(isUuid) } }, select: { id: true, role: true, name: true } });
        return { status: 200, body: { users } };
      }),
    },
  });
  return { name: "users" as const, ...service, jwksUrl: `${service.url}/.well-known/jwks.json` };
}
