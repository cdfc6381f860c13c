import { DateTimeScalar } from "@pooya/subgraph-kit";
import type { Resolvers } from "../__generated__/resolvers-types.ts";
import type { Notification } from "../generated/prisma/client.ts";

// Who may call what is declared in schema.graphql (@authenticated, @policy) and checked by the
// subgraph kit before these run; `viewer!` is signed in wherever a field says so.
export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,

  Mutation: {
    markNotificationsRead: (_, { ids }, { viewer, notifications }) => notifications.markRead(viewer!, ids),
    markAllNotificationsRead: (_, __, { viewer, notifications }) => notifications.markAllRead(viewer!),
  },

  Subscription: {
    notificationAdded: {
      subscribe: (_, __, { viewer, live }) => live.subscribe(viewer!.userId),
      resolve: (notification: Notification) => notification,
    },
  },

  User: {
    __resolveReference: ({ id }) => ({ id }),
    notifications: ({ id }, args, { notifications }) => notifications.list(id, args),
    unreadNotificationCount: ({ id }, _, { notifications }) => notifications.unreadCount(id),
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
