import { requireViewer } from "@pooya/identity";
import { DateTimeScalar, afterPosition, decodeCursor, isUuid, pageSize, toConnection } from "@pooya/subgraph-kit";
import type { Resolvers } from "../__generated__/resolvers-types.ts";

// Who may call what is declared in schema.graphql (@authenticated, @requiresScopes, @policy) and
// checked by the subgraph kit before these run; `viewer!` is signed in wherever a field says so.
export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,

  Query: {
    me: (_, __, { viewer, loaders }, info) => loaders.users(info).load(viewer!.userId),

    user: (_, { id }, { loaders }, info) => (isUuid(id) ? loaders.users(info).load(id) : null),

    users: async (_, args, { db }) => {
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
    logout: (_, { refreshToken }, { viewer, accounts }) => accounts.logout(viewer!.userId, refreshToken),
    createUser: (_, { input }, { viewer, accounts }) => accounts.createAccount(input, { createdBy: viewer!.userId }),
    updateMyProfile: (_, { input }, { viewer, accounts }) => accounts.updateProfile(viewer!.userId, input),
    changeMyPassword: (_, { currentPassword, newPassword }, { viewer, accounts, clientIp }) =>
      accounts.changePassword(viewer!.userId, currentPassword, newPassword, clientIp),
    deactivateUser: (_, { id }, { viewer, accounts }) => accounts.deactivate(viewer!.userId, id),
    reactivateUser: (_, { id }, { viewer, accounts }) => accounts.reactivate(viewer!.userId, id),
  },

  User: {
    // Kept by hand: User is not @authenticated as a type (login and register return it to
    // anonymous callers), but another subgraph's reference to a user needs a signed-in viewer.
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
