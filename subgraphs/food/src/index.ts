// The food subgraph: its definition (package entry); service.ts wires its domain.
import { defineSubgraph } from "@pooya/subgraph-kit";
import { foodEvents } from "./events.ts";
import { foodInternalRoutes } from "./internal-routes.ts";

export const foodService = defineSubgraph({
  name: "food",
  port: 4004,
  calls: { users: "base URL of the users service (whose wallet is topped up)" },
  internalRoutes: foodInternalRoutes,
  produces: foodEvents,
  source: import.meta.url,
  wiring: () => import("./service.ts"),
});
