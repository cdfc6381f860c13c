import { requireViewer, DateScalar, DateTimeScalar, forbidden, isUuid, type Viewer } from "@pooya/platform";
import type { FoodContext } from "../context.ts";
import type { AddMealInput, BuyMealInput } from "../canteen.ts";
import type { FoodOrder } from "../generated/prisma/client.ts";

/** Wallets and orders are private: the owner themself or STAFF. */
function selfOrStaff(viewer: Viewer, userId: string) {
  const me = requireViewer(viewer);
  if (me.role !== "STAFF" && me.userId !== userId) throw forbidden("Only the user themself and staff can see this.");
  return me;
}

export const resolvers = {
  Date: DateScalar,
  DateTime: DateTimeScalar,

  Query: {
    meals: (_: unknown, args: { from?: Date | null; to?: Date | null }, { viewer, canteen }: FoodContext) => {
      requireViewer(viewer);
      return canteen.meals(args.from, args.to);
    },
    meal: (_: unknown, { id }: { id: string }, { viewer, loaders }: FoodContext) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.meal.load(id) : null;
    },
    myOrders: (_: unknown, __: unknown, { viewer, loaders }: FoodContext) => loaders.ordersOfUser.load(requireViewer(viewer).userId),
  },

  Mutation: {
    addMeal: (_: unknown, { input }: { input: AddMealInput }, { viewer, canteen }: FoodContext) => canteen.addMeal(requireViewer(viewer), input),
    topUpWallet: (_: unknown, args: { userId: string; amount: number }, { viewer, canteen }: FoodContext) =>
      canteen.topUp(requireViewer(viewer), args.userId, args.amount),
    buyMeal: (_: unknown, { input }: { input: BuyMealInput }, { viewer, canteen }: FoodContext) => canteen.buy(requireViewer(viewer), input),
    cancelOrder: (_: unknown, { orderId }: { orderId: string }, { viewer, canteen }: FoodContext) => canteen.cancel(requireViewer(viewer), orderId),
  },

  Meal: {
    __resolveReference: ({ id }: { id: string }, { viewer, loaders }: FoodContext) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.meal.load(id) : null;
    },
  },

  FoodOrder: {
    meal: (order: FoodOrder, _: unknown, { loaders }: FoodContext) => loaders.meal.load(order.mealId),
    buyer: (order: FoodOrder) => ({ __typename: "User", id: order.userId }),
  },

  User: {
    __resolveReference: ({ id }: { id: string }) => ({ id }),
    wallet: ({ id }: { id: string }, _: unknown, { viewer, loaders }: FoodContext) => {
      selfOrStaff(viewer, id);
      return isUuid(id) ? loaders.wallet.load(id) : null;
    },
    foodOrders: ({ id }: { id: string }, _: unknown, { viewer, loaders }: FoodContext) => {
      selfOrStaff(viewer, id);
      return isUuid(id) ? loaders.ordersOfUser.load(id) : [];
    },
  },
};
