import type { Viewer } from "@pooya/platform";
import type { NotificationsDb } from "./db.ts";
import type { NotificationList } from "./notification-list.ts";
import type { LiveNotifications } from "./live.ts";

export interface NotificationsContext {
  viewer: Viewer;
  db: NotificationsDb;
  notifications: NotificationList;
  live: LiveNotifications;
}
