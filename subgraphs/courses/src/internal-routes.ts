// The internal routes courses serves to other services, and which services may call each: its
// descriptor declares them, serveSubgraph's guard enforces them (a service token signed by one
// of these callers), and system/test/registry.test.ts holds them to the callers' `calls`.
import { type InternalRoute } from "@pooya/runtime";
import { EVENT_FEED_PATH } from "@pooya/events";
import { ENROLLMENT_CHECK_PATH } from "./internal-api.ts";

export const coursesInternalRoutes = [
  { method: "GET", path: EVENT_FEED_PATH, callers: ["attendance", "notifications", "gateway"] },
  { method: "POST", path: ENROLLMENT_CHECK_PATH, callers: ["attendance"] },
] as const satisfies readonly InternalRoute[];
