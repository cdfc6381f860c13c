import { requireEnv, stopOnSignals, subgraphConfigFromEnv } from "@pooya/platform";
import { startCoursesService } from "./service.ts";

const service = await startCoursesService({ ...subgraphConfigFromEnv("courses", 4002), usersUrl: requireEnv("USERS_URL") });
console.log(`courses subgraph ready at ${service.graphqlUrl}`);
stopOnSignals(service.stop);
