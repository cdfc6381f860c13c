import { forbidden } from "@pooya/runtime";
import { requireViewer, type Viewer } from "@pooya/identity";
import { DateScalar, DateTimeScalar, decodeCursor, isUuid, pageSize, toConnection } from "@pooya/subgraph-kit";
import type { Resolvers } from "../__generated__/resolvers-types.ts";
import type { FoodContext } from "../context.ts";

type Loaders = FoodContext["loaders"];

/** A page of a user's orders, newest first; `first` and `after` are checked even for an unknown id. */
async function ordersPage(userId: string, args: { first?: number | null; after?: string | null }, loaders: Loaders) {
  if (!isUuid(userId)) {
    decodeCursor(args.after);
    return toConnection([], pageSize(args.first), () => Promise.resolve(0));
  }
  const { rows, size } = await loaders.orderPages(userId, args);
  return toConnection(rows, size, () => loaders.orderCounts.load(userId));
}

/** Wallets and orders are private: the owner themself or STAFF. */
function selfOrStaff(viewer: Viewer, userId: string) {
  const me = requireViewer(viewer);
  if (me.role !== "STAFF" && me.userId !== userId) throw forbidden("Only the user themself and staff can see this.");
}

export const resolvers: Resolvers = {
  Date: DateScalar,
  DateTime: DateTimeScalar,

  Query: {
    meals: (_, { from, to }, { viewer, canteen }) => {
      requireViewer(viewer);
      return canteen.meals(from, to);
    },
    meal: (_, { id }, { viewer, loaders }) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.meal.load(id) : null;
    },
    myOrders: (_, __, { viewer, loaders }, info) => loaders.ordersOfUsers(info).load(requireViewer(viewer).userId),
    myOrdersConnection: (_, args, { viewer, loaders }) => ordersPage(requireViewer(viewer).userId, args, loaders),
  },

  Mutation: {
    addMeal: (_, { input }, { viewer, canteen }) => canteen.addMeal(requireViewer(viewer), input),
    topUpWallet: (_, { userId, amount }, { viewer, canteen }) => canteen.topUp(requireViewer(viewer), userId, amount),
    buyMeal: (_, { input }, { viewer, canteen }) => canteen.buy(requireViewer(viewer), input),
    cancelOrder: (_, { orderId }, { viewer, canteen }) => canteen.cancel(requireViewer(viewer), orderId),
  },

  Meal: {
    __resolveReference: ({ id }, { viewer, loaders }) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.meal.load(id) : null;
    },
  },

  FoodOrder: {
    meal: async (order, _, { loaders }) => (await loaders.meal.load(order.mealId!))!, // selected whenever meal is
    buyer: (order) => ({ id: order.userId }),
  },

  FoodOrderConnection: {
    totalCount: (page) => page.totalCount(),
  },

  User: {
    __resolveReference: ({ id }) => ({ id }),
    wallet: ({ id }, _, { viewer, loaders }) => {
      selfOrStaff(viewer, id);
      return isUuid(id) ? loaders.wallet.load(id) : null;
    },
    foodOrders: ({ id }, _, { viewer, loaders }, info) => {
      selfOrStaff(viewer, id);
      return isUuid(id) ? loaders.ordersOfUsers(info).load(id) : [];
    },
    foodOrdersConnection: ({ id }, args, { viewer, loaders }) => {
      selfOrStaff(viewer, id);
      return ordersPage(id, args, loaders);
    },
  },
};
