// The courses service as the rest of the system sees it: its descriptor (package entry).
import { checkDatabaseVariables, defineService } from "@pooya/platform";
import { courseEvents } from "./events.ts";
import { coursesEnv } from "./env.ts";
import { coursesInternalRoutes } from "./internal-routes.ts";

export const coursesService = defineService({
  name: "courses",
  defaultPort: 4002,
  calls: ["users"],
  internalRoutes: coursesInternalRoutes,
  env: coursesEnv,
  check: checkDatabaseVariables("courses"),
  publishes: { events: courseEvents },
  async start(vars, { log }) {
    const { startCoursesService } = await import("./service.ts");
    return startCoursesService(vars, log);
  },
});

export type { CoursesService } from "./service.ts";
