// The users subgraph: its definition (package entry); service.ts wires its domain.
import { defineSubgraph } from "@pooya/subgraph-kit";
import { userEvents } from "./events.ts";
import { checkUsersEnv, usersEnv } from "./env.ts";
import { usersInternalRoutes } from "./internal-routes.ts";
import { ACCESS_TOKEN_KEYS_PATH } from "./directory-client.ts";

export const usersService = defineSubgraph({
  name: "users",
  port: 4001,
  internalRoutes: usersInternalRoutes,
  env: usersEnv,
  check: checkUsersEnv,
  produces: userEvents,
  accessTokenKeys: ACCESS_TOKEN_KEYS_PATH,
  source: import.meta.url,
  wiring: () => import("./service.ts"),
});

export { signingKeysFile } from "./auth/signing-keys.ts";
