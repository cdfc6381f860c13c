// The attendance service's variables: the subgraph's common ones, where courses is (its enrollment
// events and direct checks) and how events travel.
import { callVariables, callerVariables, env, eventVariables, serviceIdentityVariables, subgraphVariables } from "@pooya/platform";
import { attendanceInternalRoutes } from "./internal-routes.ts";

export const attendanceEnv = {
  ...subgraphVariables("attendance", 4003),
  COURSES_URL: env.httpUrl().describe("base URL of the courses service (its event feed and enrollment checks)"),
  ENROLLMENT_CATCH_UP_DEADLINE_MS: env.integer({ min: 50, max: 60_000 }).default(1_500)
    .describe("how long a request waits in all for the replica to catch up before it asks courses directly (or, if courses does not answer, uses the replica as it is)"),
  ...callVariables(["courses"]),
  ...serviceIdentityVariables("attendance"),
  ...callerVariables(attendanceInternalRoutes),
  ...eventVariables(),
};

export type AttendanceEnv = typeof attendanceEnv;
