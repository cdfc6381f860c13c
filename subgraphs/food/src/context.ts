import { groupLoader, rowLoader, type Viewer } from "@pooya/platform";
import type { FoodDb } from "./db.ts";
import type { Canteen } from "./canteen.ts";
import type { FoodOrder, Meal, Wallet } from "./generated/prisma/client.ts";

export interface FoodContext {
  viewer: Viewer;
  db: FoodDb;
  canteen: Canteen;
  loaders: ReturnType<typeof createLoaders>;
}

export function createLoaders(db: FoodDb) {
  return {
    meal: rowLoader<string, Meal>((ids) => db.prisma.meal.findMany({ where: { id: { in: [...ids] } } }), (m) => m.id),
    wallet: rowLoader<string, Wallet>((ids) => db.prisma.wallet.findMany({ where: { userId: { in: [...ids] } } }), (w) => w.userId),
    ordersOfUser: groupLoader<string, FoodOrder>(
      (ids) => db.prisma.foodOrder.findMany({ where: { userId: { in: [...ids] } }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
      (o) => o.userId,
    ),
  };
}
