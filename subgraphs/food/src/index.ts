// The food service as the rest of the system sees it: its descriptor (package entry).
import { checkDatabaseVariables, defineService } from "@pooya/platform";
import { foodEvents } from "./events.ts";
import { foodEnv } from "./env.ts";
import { foodInternalRoutes } from "./internal-routes.ts";

export const foodService = defineService({
  name: "food",
  defaultPort: 4004,
  calls: ["users"],
  internalRoutes: foodInternalRoutes,
  env: foodEnv,
  check: checkDatabaseVariables("food"),
  publishes: { events: foodEvents },
  async start(vars, { log }) {
    const { startFoodService } = await import("./service.ts");
    return startFoodService(vars, log);
  },
});

export type { FoodService } from "./service.ts";
