import type { GraphQLResolveInfo } from "graphql";
import type DataLoader from "dataloader";
import { type Viewer } from "@pooya/identity";
import { groupLoader, loaderPerKey, rowLoader, selectedColumns } from "@pooya/subgraph-kit";
import { asUuids } from "@pooya/events";
import { tables } from "./tables.ts";
import type { FoodDb } from "./service.ts";
import type { Canteen } from "./canteen.ts";
import type { FoodOrder, Meal, Wallet } from "./generated/prisma/client.ts";

export interface FoodContext {
  viewer: Viewer;
  db: FoodDb;
  canteen: Canteen;
  loaders: ReturnType<typeof createLoaders>;
}

/** A wallet as its resolvers read it: a Prisma row after a top-up, or what a read selected. */
export type WalletRow = Pick<Wallet, "userId" | "balance"> & Partial<Wallet>;
/** An order as its resolvers read it: a Prisma row after a purchase, or the columns a query's selection asked for. */
export type FoodOrderRow = Pick<FoodOrder, "userId"> & Partial<FoodOrder>;

/** The column behind each FoodOrder field, named as its resolver reads it. */
const ORDER_COLUMNS = {
  id: "id",
  meal: "meal_id as mealId",
  quantity: "quantity",
  totalPrice: "total_price as totalPrice",
  status: "status",
  createdAt: "created_at as createdAt",
} as const;
type OrderColumn = (typeof ORDER_COLUMNS)[keyof typeof ORDER_COLUMNS] | "user_id as userId";
const ORDER_KEYS: OrderColumn[] = ["user_id as userId"];

export function createLoaders(db: FoodDb) {
  const orderLoaders = loaderPerKey<DataLoader<string, FoodOrderRow[], unknown>>();
  return {
    meal: rowLoader<string, Meal>(
      (ids) => db.prisma.meal.findMany({ where: { id: { in: [...ids] } } }),
      (m) => m.id,
    ),
    // Entity batches (a course's students) read straight from the pool: one SELECT, no ORM per row.
    wallet: rowLoader<string, WalletRow>(
      (ids) =>
        db.read(
          tables
            .selectFrom("wallets")
            .select(["user_id as userId", "balance"])
            .where((eb) => eb("user_id", "=", eb.fn.any(asUuids(ids)))),
        ),
      (w) => w.userId,
    ),
    /** Users' orders, newest first, with only the columns the selection asks for. */
    ordersOfUsers: (info: GraphQLResolveInfo) => {
      const columns = selectedColumns(info, ORDER_COLUMNS, ORDER_KEYS);
      return orderLoaders(columns.key, () =>
        groupLoader<string, FoodOrderRow>(
          (ids) =>
            db.read(
              tables
                .selectFrom("food_orders")
                .select(columns.list)
                .where((eb) => eb("user_id", "=", eb.fn.any(asUuids(ids))))
                .orderBy("created_at", "desc")
                .orderBy("id", "desc"),
            ),
          (o) => o.userId,
        ),
      );
    },
  };
}
