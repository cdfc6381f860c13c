import { join } from "node:path";
import { portFromEnv, requireEnv, stopOnSignals } from "@pooya/platform";
import { startUsersService } from "./service.ts";

const env = process.env;
const dataDir = env.POOYA_DATA_DIR ?? join(process.cwd(), ".data");
const service = await startUsersService({
  databaseUrl: requireEnv("USERS_DATABASE_URL"),
  port: portFromEnv("PORT", 4001),
  host: env.HOST ?? "0.0.0.0",
  gatewayKeys: { jwksUrl: requireEnv("GATEWAY_JWKS_URL") },
  serviceSecret: requireEnv("POOYA_SERVICE_SECRET"),
  signingKeys: { env: env.USERS_SIGNING_KEYS, file: join(dataDir, "keys", "users-signing-keys.json") },
  tokenIssuer: env.TOKEN_ISSUER,
  tokenAudience: env.TOKEN_AUDIENCE,
  admin: env.POOYA_ADMIN_EMAIL && env.POOYA_ADMIN_PASSWORD ? { email: env.POOYA_ADMIN_EMAIL, password: env.POOYA_ADMIN_PASSWORD } : undefined,
});
console.log(`users subgraph ready at ${service.graphqlUrl}`);
stopOnSignals(service.stop);
