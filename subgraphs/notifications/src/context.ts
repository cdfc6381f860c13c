import type { Viewer } from "@pooya/platform";
import type { NotificationsDb } from "./service.ts";
import type { NotificationList } from "./notification-list.ts";
import type { LiveNotifications } from "./live.ts";

export interface NotificationsContext {
  viewer: Viewer;
  db: NotificationsDb;
  notifications: NotificationList;
  live: LiveNotifications;
}
