// The named policies notifications' schema.graphql declares with @policy (checked by the subgraph kit).
import type { Policies } from "@pooya/subgraph-kit";
import type { NotificationsContext } from "../context.ts";

export const policies: Policies<NotificationsContext> = {
  /** User.notifications, User.unreadNotificationCount: private to their recipient, staff included. */
  self: (viewer, user: { id: string }) => viewer.userId === user.id,
};
