// The users service as the rest of the system sees it: its descriptor (package entry).
import { checkDatabaseVariables, defineService } from "@pooya/platform";
import { userEvents } from "./events.ts";
import { checkUsersEnv, usersEnv } from "./env.ts";
import { usersInternalRoutes } from "./internal-routes.ts";
import { ACCESS_TOKEN_KEYS_PATH } from "./directory-client.ts";

export const usersService = defineService({
  name: "users",
  defaultPort: 4001,
  calls: [],
  internalRoutes: usersInternalRoutes,
  env: usersEnv,
  check: (vars) => [...checkDatabaseVariables("users")(vars), ...checkUsersEnv(vars)],
  publishes: { accessTokenKeys: ACCESS_TOKEN_KEYS_PATH, events: userEvents },
  async start(vars, { log }) {
    const { startUsersService } = await import("./service.ts");
    return startUsersService(vars, log);
  },
});

export type { UsersService } from "./service.ts";
export { signingKeysFile } from "./auth/signing-keys.ts";
