import { requireEnv, stopOnSignals, subgraphConfigFromEnv } from "@pooya/platform";
import { startFoodService } from "./service.ts";

const service = await startFoodService({ ...subgraphConfigFromEnv("food", 4004), usersUrl: requireEnv("USERS_URL") });
console.log(`food subgraph ready at ${service.graphqlUrl}`);
stopOnSignals(service.stop);
