// The internal routes food serves to other services, and which services may call each: its
// descriptor declares them, serveSubgraph's guard enforces them (a service token signed by one
// of these callers), and system/test/registry.test.ts holds them to the callers' `calls`.
import { type InternalRoute } from "@pooya/runtime";
import { EVENT_FEED_PATH } from "@pooya/events";

export const foodInternalRoutes = [
  { method: "GET", path: EVENT_FEED_PATH, callers: ["notifications", "gateway"] },
] as const satisfies readonly InternalRoute[];
