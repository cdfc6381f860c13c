// The notifications subgraph: its definition (package entry); service.ts wires its domain.
import { defineSubgraph } from "@pooya/subgraph-kit";
import { notificationsEnv } from "./env.ts";

/** The services whose events become notifications. */
export const EVENT_SOURCES = ["users", "courses", "attendance", "food"] as const;

export const notificationsService = defineSubgraph({
  name: "notifications",
  port: 4005,
  // Their event feeds (the transport without a broker, the catch-up path with one).
  calls: {
    users: "base URL of the users service (its event feed)",
    courses: "base URL of the courses service (its event feed)",
    attendance: "base URL of the attendance service (its event feed)",
    food: "base URL of the food service (its event feed)",
  },
  env: notificationsEnv,
  consumes: EVENT_SOURCES,
  subscriptions: true,
  source: import.meta.url,
  wiring: () => import("./service.ts"),
});
