import { requireEnv, stopOnSignals, subgraphConfigFromEnv } from "@pooya/platform";
import { startAttendanceService } from "./service.ts";

const poll = process.env.ENROLLMENT_POLL_INTERVAL_MS;
const service = await startAttendanceService({
  ...subgraphConfigFromEnv("attendance", 4003),
  coursesUrl: requireEnv("COURSES_URL"),
  pollIntervalMs: poll ? Number(poll) : undefined,
});
console.log(`attendance subgraph ready at ${service.graphqlUrl}`);
stopOnSignals(service.stop);
