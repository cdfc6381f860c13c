// The attendance service's variables: the subgraph's common ones and its enrollment replica's feed.
import { callVariables, env, subgraphVariables } from "@pooya/platform";

export const attendanceEnv = {
  ...subgraphVariables("attendance", 4003),
  COURSES_URL: env.httpUrl().describe("base URL of the courses service (its enrollment event feed)"),
  ENROLLMENT_POLL_INTERVAL_MS: env.integer({ min: 10, max: 600_000 }).default(1_000).describe("how often the enrollment replica reads courses' feed"),
  ENROLLMENT_CATCH_UP_DEADLINE_MS: env.integer({ min: 50, max: 60_000 }).default(1_500)
    .describe("how long a request waits in all for the replica to catch up before it asks courses directly (or, if courses does not answer, uses the replica as it is)"),
  ...callVariables(["courses"]),
};

export type AttendanceEnv = typeof attendanceEnv;
