import { portFromEnv, requireEnv, stopOnSignals } from "@pooya/platform";
import { startAttendanceService } from "./service.ts";

const env = process.env;
const service = await startAttendanceService({
  databaseUrl: requireEnv("ATTENDANCE_DATABASE_URL"),
  port: portFromEnv("PORT", 4003),
  host: env.HOST ?? "0.0.0.0",
  gatewayKeys: { jwksUrl: requireEnv("GATEWAY_JWKS_URL") },
  serviceSecret: requireEnv("POOYA_SERVICE_SECRET"),
  coursesUrl: requireEnv("COURSES_URL"),
  pollIntervalMs: env.ENROLLMENT_POLL_INTERVAL_MS ? Number(env.ENROLLMENT_POLL_INTERVAL_MS) : undefined,
});
console.log(`attendance subgraph ready at ${service.graphqlUrl}`);
stopOnSignals(service.stop);
