// The attendance subgraph: its definition (package entry); service.ts wires its domain.
import { defineSubgraph } from "@pooya/subgraph-kit";
import { attendanceEvents } from "./events.ts";
import { attendanceEnv } from "./env.ts";
import { attendanceInternalRoutes } from "./internal-routes.ts";

export const attendanceService = defineSubgraph({
  name: "attendance",
  port: 4003,
  calls: { courses: "base URL of the courses service (its event feed and enrollment checks)" },
  internalRoutes: attendanceInternalRoutes,
  env: attendanceEnv,
  produces: attendanceEvents,
  consumes: ["courses"], // its enrollment replica
  source: import.meta.url,
  wiring: () => import("./service.ts"),
});
