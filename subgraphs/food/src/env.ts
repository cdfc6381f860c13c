// The food service's variables: the subgraph's common ones and where the users service is.
import { callVariables, callerVariables, env, eventVariables, serviceIdentityVariables, subgraphVariables } from "@pooya/platform";
import { foodInternalRoutes } from "./internal-routes.ts";

export const foodEnv = {
  ...subgraphVariables("food", 4004),
  USERS_URL: env.httpUrl().describe("base URL of the users service (whose wallet is topped up)"),
  ...callVariables(["users"]),
  ...serviceIdentityVariables("food"),
  ...callerVariables(foodInternalRoutes),
  ...eventVariables(),
};

export type FoodEnv = typeof foodEnv;
