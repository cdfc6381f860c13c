// The notifications service as the rest of the system sees it: its descriptor (package entry).
import { checkDatabaseVariables, defineService } from "@pooya/platform";
import { notificationsEnv } from "./env.ts";

export const notificationsService = defineService({
  name: "notifications",
  defaultPort: 4005,
  // Their event feeds (the transport without a broker, the catch-up path with one).
  calls: ["users", "courses", "attendance", "food"],
  env: notificationsEnv,
  check: checkDatabaseVariables("notifications"),
  async start(vars, { log }) {
    const { startNotificationsService } = await import("./service.ts");
    return startNotificationsService(vars, log);
  },
});

export type { NotificationsService } from "./service.ts";
