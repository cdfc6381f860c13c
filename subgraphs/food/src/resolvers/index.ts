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

// Who may call what is declared in schema.graphql (@authenticated, @requiresScopes, @policy) and
// checked by the subgraph kit before these run; `viewer!` is signed in wherever a field says so.
// Only the buyer cancels an order: that depends on the order, so the domain checks it.

export const resolvers: Resolvers = {
  Date: DateScalar,
  DateTime: DateTimeScalar,

  Query: {
    meals: (_, { from, to }, { canteen }) => canteen.meals(from, to),
    allMeals: (_, { from, to }, { canteen }) => canteen.meals(from, to, { withdrawn: true }),
    meal: (_, { id }, { loaders }) => (isUuid(id) ? loaders.meal.load(id) : null),
    myOrders: (_, __, { viewer, loaders }, info) => loaders.ordersOfUsers(info).load(viewer!.userId),
    myOrdersConnection: (_, args, { viewer, loaders }) => ordersPage(viewer!.userId, args, loaders),
  },

  Mutation: {
    addMeal: (_, { input }, { canteen }) => canteen.addMeal(input),
    updateMeal: (_, { id, input }, { menu }) => menu.updateMeal(id, input),
    withdrawMeal: (_, { id }, { menu }) => menu.withdrawMeal(id),
    topUpWallet: (_, { userId, amount }, { viewer, canteen }) => canteen.topUp(viewer!, userId, amount),
    buyMeal: (_, { input }, { viewer, canteen }) => canteen.buy(viewer!, input),
    cancelOrder: (_, { orderId }, { viewer, canteen }) => canteen.cancel(viewer!, orderId),
  },

  Meal: {
    __resolveReference: ({ id }, { loaders }) => (isUuid(id) ? loaders.meal.load(id) : null),
    available: (meal) => meal.withdrawnAt == null,
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
    wallet: ({ id }, _, { loaders }) => (isUuid(id) ? loaders.wallet.load(id) : null),
    foodOrders: ({ id }, _, { loaders }, info) => (isUuid(id) ? loaders.ordersOfUsers(info).load(id) : []),
    foodOrdersConnection: ({ id }, args, { loaders }) => ordersPage(id, args, loaders),
  },
};
