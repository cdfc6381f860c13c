import { requireViewer, DateTimeScalar, decodeCursor, afterPosition, forbidden, isUuid, pageSize, toConnection, type Viewer } from "@pooya/platform";
import type { UsersContext } from "../context.ts";
import type { Role } from "../generated/prisma/enums.ts";

function staffOnly(viewer: Viewer) {
  if (requireViewer(viewer).role !== "STAFF") throw forbidden("Only staff can do this.");
  return viewer;
}

export const resolvers = {
  DateTime: DateTimeScalar,

  Query: {
    me: (_: unknown, __: unknown, { viewer, loaders }: UsersContext) => loaders.user.load(requireViewer(viewer).userId),

    user: (_: unknown, { id }: { id: string }, { viewer, loaders }: UsersContext) => {
      const me = requireViewer(viewer);
      if (me.role !== "STAFF" && me.userId !== id) throw forbidden("You can only look up your own account.");
      return isUuid(id) ? loaders.user.load(id) : null;
    },

    users: async (_: unknown, args: { role?: Role | null; first?: number | null; after?: string | null }, { viewer, db }: UsersContext) => {
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
    register: (_: unknown, { input }: { input: { email: string; password: string; name: string } }, { accounts }: UsersContext) =>
      accounts.register(input),

    login: (_: unknown, args: { email: string; password: string }, { accounts }: UsersContext) => accounts.login(args.email, args.password),

    refreshToken: (_: unknown, args: { refreshToken: string }, { accounts }: UsersContext) => accounts.refresh(args.refreshToken),

    logout: (_: unknown, args: { refreshToken: string }, { viewer, accounts }: UsersContext) =>
      accounts.logout(requireViewer(viewer).userId, args.refreshToken),

    createUser: (_: unknown, { input }: { input: { email: string; password: string; name: string; role: Role } }, { viewer, accounts }: UsersContext) => {
      staffOnly(viewer);
      return accounts.createAccount(input);
    },
  },

  User: {
    __resolveReference: ({ id }: { id: string }, { viewer, loaders }: UsersContext) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.user.load(id) : null;
    },
  },
};
