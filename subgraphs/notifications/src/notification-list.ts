// A user's notifications: the list (newest first, keyset-paged), the unread count, marking read.
// Only the user themself sees or changes them — staff included.
import { badUserInput, domainError } from "@pooya/runtime";
import { type Viewer } from "@pooya/identity";
import { decodeCursor, isUuid, pageSize, toConnection } from "@pooya/subgraph-kit";
import type { NotificationsDb } from "./service.ts";

export const MAX_MARKED = 100;

export function createNotificationList(db: NotificationsDb) {
  return {
    /** Only for the user themself: @policy(self) on User.notifications. */
    async list(userId: string, args: { first?: number | null; after?: string | null; unreadOnly?: boolean | null }) {
      const size = pageSize(args.first);
      const position = decodeCursor(args.after);
      const filter = { userId, ...(args.unreadOnly ? { readAt: null } : {}) };
      const rows = await db.prisma.notification.findMany({
        where: {
          ...filter,
          // Newest first: the rows before the cursor in (createdAt, id) order.
          ...(position
            ? {
                OR: [
                  { createdAt: { lt: position.createdAt } },
                  { createdAt: position.createdAt, id: { lt: position.id } },
                ],
              }
            : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: size + 1,
      });
      return toConnection(rows, size, () => db.prisma.notification.count({ where: filter }));
    },

    /** Only for the user themself: @policy(self) on User.unreadNotificationCount. */
    unreadCount(userId: string) {
      return db.prisma.notification.count({ where: { userId, readAt: null } });
    },

    /** All or nothing: every id must be one of the viewer's notifications. */
    async markRead(viewer: NonNullable<Viewer>, ids: string[]) {
      if (ids.length > MAX_MARKED) throw badUserInput(`Mark at most ${MAX_MARKED} notifications at a time.`, "ids");
      const unique = [...new Set(ids)];
      const malformed = unique.filter((id) => !isUuid(id));
      if (malformed.length) throw badUserInput("ids must be notification ids.", "ids");
      return db.prisma.$transaction(async (tx) => {
        const own = await tx.notification.findMany({
          where: { id: { in: unique }, userId: viewer.userId },
          select: { id: true },
        });
        if (own.length !== unique.length) {
          const found = new Set(own.map((n) => n.id));
          throw domainError("NOT_FOUND", "Some of these are not your notifications; none was marked.", {
            ids: unique.filter((id) => !found.has(id)),
          });
        }
        await tx.notification.updateMany({ where: { id: { in: unique }, readAt: null }, data: { readAt: new Date() } });
        const marked = await tx.notification.findMany({ where: { id: { in: unique } } });
        const byId = new Map(marked.map((n) => [n.id, n]));
        return ids.filter((id, i) => ids.indexOf(id) === i).map((id) => byId.get(id)!);
      });
    },

    async markAllRead(viewer: NonNullable<Viewer>) {
      const { count } = await db.prisma.notification.updateMany({
        where: { userId: viewer.userId, readAt: null },
        data: { readAt: new Date() },
      });
      return count;
    },
  };
}

export type NotificationList = ReturnType<typeof createNotificationList>;
