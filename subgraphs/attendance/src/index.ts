// The attendance service as the rest of the system sees it: its descriptor (package entry).
import { checkDatabaseVariables, defineService } from "@pooya/platform";
import { attendanceEvents } from "./events.ts";
import { attendanceEnv } from "./env.ts";
import { attendanceInternalRoutes } from "./internal-routes.ts";

export const attendanceService = defineService({
  name: "attendance",
  defaultPort: 4003,
  calls: ["courses"],
  internalRoutes: attendanceInternalRoutes,
  env: attendanceEnv,
  check: checkDatabaseVariables("attendance"),
  publishes: { events: attendanceEvents },
  async start(vars, { log }) {
    const { startAttendanceService } = await import("./service.ts");
    return startAttendanceService(vars, log);
  },
});

export type { AttendanceService } from "./service.ts";
