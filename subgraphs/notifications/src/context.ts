import type { Viewer } from "@pooya/identity";
import type { NotificationsDb } from "./service.ts";
import type { NotificationList } from "./notification-list.ts";
import type { LiveNotifications } from "./live.ts";

export interface NotificationsContext {
  viewer: Viewer;
  db: NotificationsDb;
  notifications: NotificationList;
  live: LiveNotifications;
}
