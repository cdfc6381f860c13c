import { forbidden } from "@pooya/runtime";
import { requireViewer, type Viewer } from "@pooya/identity";
import { DateTimeScalar, afterPosition, decodeCursor, isUuid, pageSize, toConnection } from "@pooya/subgraph-kit";
import type { Resolvers } from "../__generated__/resolvers-types.ts";

function staffOnly(viewer: Viewer) {
  const staff = requireViewer(viewer);
  if (staff.role !== "STAFF") throw forbidden("Only staff can do this.");
  return staff;
}

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,

  Query: {
    me: (_, __, { viewer, loaders }, info) => loaders.users(info).load(requireViewer(viewer).userId),

    user: (_, { id }, { viewer, loaders }, info) => {
      const me = requireViewer(viewer);
      if (me.role !== "STAFF" && me.userId !== id) throw forbidden("You can only look up your own account.");
      return isUuid(id) ? loaders.users(info).load(id) : null;
    },

    users: async (_, args, { viewer, db }) => {
      staffOnly(viewer);
      const size = pageSize(args.first);
      const roleFilter = args.role ? { role: args.role } : {};
      const rows = await db.prisma.user.findMany({
        where: { ...roleFilter, ...afterPosition(decodeCursor(args.after)) },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: size + 1,
      });
      return toConnection(rows, size, () => db.prisma.user.count({ where: roleFilter }));
    },
  },

  Mutation: {
    register: (_, { input }, { accounts }) => accounts.register(input),
    login: (_, { email, password }, { accounts, clientIp }) => accounts.login(email, password, clientIp),
    refreshToken: (_, { refreshToken }, { accounts }) => accounts.refresh(refreshToken),
    logout: (_, { refreshToken }, { viewer, accounts }) => accounts.logout(requireViewer(viewer).userId, refreshToken),
    createUser: (_, { input }, { viewer, accounts }) => {
      return accounts.createAccount(input, { createdBy: staffOnly(viewer).userId });
    },
  },

  User: {
    __resolveReference: ({ id }, { viewer, loaders }, info) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.users(info).load(id) : null;
    },
  },

  // Counted only when asked for. A compiled executor reads a field without a resolver as a plain
  // property (graphql-js would call a function there), so the count has a resolver of its own.
  UserConnection: {
    totalCount: (page) => page.totalCount(),
  },
};
