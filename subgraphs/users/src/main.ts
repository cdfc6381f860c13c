import { join } from "node:path";
import { stopOnSignals, subgraphConfigFromEnv } from "@pooya/platform";
import { startUsersService } from "./service.ts";

const env = process.env;
const dataDir = env.POOYA_DATA_DIR ?? join(process.cwd(), ".data");
const service = await startUsersService({
  ...subgraphConfigFromEnv("users", 4001),
  signingKeys: { env: env.USERS_SIGNING_KEYS, file: join(dataDir, "keys", "users-signing-keys.json") },
  tokenIssuer: env.TOKEN_ISSUER,
  tokenAudience: env.TOKEN_AUDIENCE,
  admin: env.POOYA_ADMIN_EMAIL && env.POOYA_ADMIN_PASSWORD ? { email: env.POOYA_ADMIN_EMAIL, password: env.POOYA_ADMIN_PASSWORD } : undefined,
});
console.log(`users subgraph ready at ${service.graphqlUrl}`);
stopOnSignals(service.stop);
