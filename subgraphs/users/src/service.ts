// Wires the users subgraph together; main.ts (production) and the test harness both call it.
import { fileURLToPath } from "node:url";
import {
  HttpError, SERVICE_TOKEN_HEADER, applyMigrations, createServiceTokenVerifier, isUuid, loadSchemaFile, startSubgraph,
  type SubgraphOptions,
} from "@pooya/platform";
import { connectUsersDb } from "./db.ts";
import { createAccounts } from "./accounts.ts";
import { createLoaders, type UsersContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { loadSigningKeys } from "./auth/signing-keys.ts";
import { DEFAULT_TOKEN_AUDIENCE, DEFAULT_TOKEN_ISSUER, createAccessTokenIssuer } from "./auth/tokens.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/users/migrations", import.meta.url));

export interface UsersServiceConfig {
  databaseUrl: string;
  /** Connections in the pool (default DATABASE_POOL_SIZE or 10); 1 on embedded Postgres. */
  databasePoolSize?: number;
  port: number;
  host?: string;
  gatewayKeys: SubgraphOptions<UsersContext>["gatewayKeys"];
  serviceSecret: string;
  signingKeys?: { env?: string; file?: string };
  tokenIssuer?: string;
  tokenAudience?: string;
  admin?: { email: string; password: string };
}

export async function startUsersService(config: UsersServiceConfig) {
  await applyMigrations(config.databaseUrl, MIGRATIONS_DIR);
  const db = connectUsersDb(config.databaseUrl, { poolSize: config.databasePoolSize });
  const keys = await loadSigningKeys(config.signingKeys ?? {});
  const accessTokens = createAccessTokenIssuer(keys, {
    issuer: config.tokenIssuer ?? DEFAULT_TOKEN_ISSUER,
    audience: config.tokenAudience ?? DEFAULT_TOKEN_AUDIENCE,
  });
  const accounts = createAccounts(db, accessTokens);
  if (config.admin) await accounts.ensureAdmin(config.admin.email, config.admin.password);
  const verifyServiceToken = createServiceTokenVerifier(config.serviceSecret, "users", ["courses", "food", "attendance"]);

  const http = await startSubgraph<UsersContext>({
    name: "users",
    typeDefs: loadSchemaFile(new URL("../schema.graphql", import.meta.url)),
    resolvers,
    port: config.port,
    host: config.host,
    gatewayKeys: config.gatewayKeys,
    createContext: (viewer) => ({ viewer, db, accounts, loaders: createLoaders(db) }),
    checkReady: async () => ({ database: await db.ping() }),
    routes: {
      "GET /.well-known/jwks.json": async () => ({
        status: 200,
        body: accessTokens.jwks,
        headers: { "cache-control": "public, max-age=300" },
      }),
      // Other services ask who a user is (exists? which role?) without reading this database.
      "POST /internal/users/lookup": async (request, body) => {
        const header = request.headers[SERVICE_TOKEN_HEADER];
        await verifyServiceToken(Array.isArray(header) ? header[0] : header).catch(() => {
          throw new HttpError(401, "service token required");
        });
        const ids = (body as { ids?: unknown })?.ids;
        if (!Array.isArray(ids) || ids.length > 1000) throw new HttpError(400, "ids must be an array of at most 1000");
        const users = await db.prisma.user.findMany({
          where: { id: { in: ids.filter(isUuid) } },
          select: { id: true, role: true, name: true },
        });
        return { status: 200, body: { users } };
      },
    },
  });

  return {
    name: "users" as const,
    url: http.url,
    graphqlUrl: `${http.url}/graphql`,
    jwksUrl: `${http.url}/.well-known/jwks.json`,
    sqlStatements: db.sqlStatements,
    async stop() {
      await http.close();
      await db.close();
    },
  };
}
