// The food service's variables: the subgraph's common ones and where the users service is.
import { callVariables, env, eventVariables, subgraphVariables } from "@pooya/platform";

export const foodEnv = {
  ...subgraphVariables("food", 4004),
  USERS_URL: env.httpUrl().describe("base URL of the users service (whose wallet is topped up)"),
  ...callVariables(["users"]),
  ...eventVariables(),
};

export type FoodEnv = typeof foodEnv;
