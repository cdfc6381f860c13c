// The courses subgraph: its definition (package entry); service.ts wires its domain.
import { defineSubgraph } from "@pooya/subgraph-kit";
import { courseEvents } from "./events.ts";
import { coursesInternalRoutes } from "./internal-routes.ts";

export const coursesService = defineSubgraph({
  name: "courses",
  port: 4002,
  calls: { users: "base URL of the users service (who a teacher or student is)" },
  internalRoutes: coursesInternalRoutes,
  produces: courseEvents,
  source: import.meta.url,
  wiring: () => import("./service.ts"),
});
