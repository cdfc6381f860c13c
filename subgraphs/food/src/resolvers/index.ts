import { DateScalar, DateTimeScalar, isUuid } from "@pooya/subgraph-kit";
import type { Resolvers } from "../__generated__/resolvers-types.ts";

// Who may call what is declared in schema.graphql (@authenticated, @requiresScopes, @policy) and
// checked by the subgraph kit before these run; `viewer!` is signed in wherever a field says so.
// Only the buyer cancels an order: that depends on the order, so the domain checks it.

export const resolvers: Resolvers = {
  Date: DateScalar,
  DateTime: DateTimeScalar,

  Query: {
    meals: (_, { from, to }, { canteen }) => canteen.meals(from, to),
    meal: (_, { id }, { loaders }) => (isUuid(id) ? loaders.meal.load(id) : null),
    myOrders: (_, __, { viewer, loaders }, info) => loaders.ordersOfUsers(info).load(viewer!.userId),
  },

  Mutation: {
    addMeal: (_, { input }, { canteen }) => canteen.addMeal(input),
    topUpWallet: (_, { userId, amount }, { viewer, canteen }) => canteen.topUp(viewer!, userId, amount),
    buyMeal: (_, { input }, { viewer, canteen }) => canteen.buy(viewer!, input),
    cancelOrder: (_, { orderId }, { viewer, canteen }) => canteen.cancel(viewer!, orderId),
  },

  Meal: {
    __resolveReference: ({ id }, { loaders }) => (isUuid(id) ? loaders.meal.load(id) : null),
  },

  FoodOrder: {
    meal: async (order, _, { loaders }) => (await loaders.meal.load(order.mealId!))!, // selected whenever meal is
    buyer: (order) => ({ id: order.userId }),
  },

  User: {
    __resolveReference: ({ id }) => ({ id }),
    wallet: ({ id }, _, { loaders }) => (isUuid(id) ? loaders.wallet.load(id) : null),
    foodOrders: ({ id }, _, { loaders }, info) => (isUuid(id) ? loaders.ordersOfUsers(info).load(id) : []),
  },
};
