import { requireViewer } from "@pooya/identity";
import { DateTimeScalar } from "@pooya/subgraph-kit";
import type { Resolvers } from "../__generated__/resolvers-types.ts";
import type { Notification } from "../generated/prisma/client.ts";

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,

  Mutation: {
    markNotificationsRead: (_, { ids }, { viewer, notifications }) =>
      notifications.markRead(requireViewer(viewer), ids),
    markAllNotificationsRead: (_, __, { viewer, notifications }) => notifications.markAllRead(requireViewer(viewer)),
  },

  Subscription: {
    notificationAdded: {
      subscribe: (_, __, { viewer, live }) => live.subscribe(requireViewer(viewer).userId),
      resolve: (notification: Notification) => notification,
    },
  },

  User: {
    __resolveReference: ({ id }) => ({ id }),
    notifications: ({ id }, args, { viewer, notifications }) => notifications.list(requireViewer(viewer), id, args),
    unreadNotificationCount: ({ id }, _, { viewer, notifications }) =>
      notifications.unreadCount(requireViewer(viewer), id),
  },

  Notification: {
    read: (notification) => notification.readAt !== null,
  },

  // Counted only when asked for. A compiled executor reads a field without a resolver as a plain
  // property (graphql-js would call a function there), so the count has a resolver of its own.
  NotificationConnection: {
    totalCount: (page) => page.totalCount(),
  },
};
