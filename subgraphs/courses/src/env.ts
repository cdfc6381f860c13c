// The courses service's variables: the subgraph's common ones and where the users service is.
import { callVariables, callerVariables, env, eventVariables, serviceIdentityVariables, subgraphVariables } from "@pooya/platform";
import { coursesInternalRoutes } from "./internal-routes.ts";

export const coursesEnv = {
  ...subgraphVariables("courses", 4002),
  USERS_URL: env.httpUrl().describe("base URL of the users service (who a teacher or student is)"),
  ...callVariables(["users"]),
  ...serviceIdentityVariables("courses"),
  ...callerVariables(coursesInternalRoutes),
  ...eventVariables(),
};

export type CoursesEnv = typeof coursesEnv;
