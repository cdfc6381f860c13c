import { portFromEnv, requireEnv, stopOnSignals } from "@pooya/platform";
import { startCoursesService } from "./service.ts";

const env = process.env;
const service = await startCoursesService({
  databaseUrl: requireEnv("COURSES_DATABASE_URL"),
  port: portFromEnv("PORT", 4002),
  host: env.HOST ?? "0.0.0.0",
  gatewayKeys: { jwksUrl: requireEnv("GATEWAY_JWKS_URL") },
  serviceSecret: requireEnv("POOYA_SERVICE_SECRET"),
  usersUrl: requireEnv("USERS_URL"),
});
console.log(`courses subgraph ready at ${service.graphqlUrl}`);
stopOnSignals(service.stop);
