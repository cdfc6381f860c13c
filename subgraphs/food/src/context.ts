import type { GraphQLResolveInfo } from "graphql";
import type DataLoader from "dataloader";
import { type Viewer } from "@pooya/identity";
import { groupLoader, loaderPerKey, rowLoader, selectColumns } from "@pooya/subgraph-kit";
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
  meal: `meal_id AS "mealId"`,
  quantity: "quantity",
  totalPrice: `total_price AS "totalPrice"`,
  status: "status",
  createdAt: `created_at AS "createdAt"`,
} as const;
const ORDER_KEYS = [`user_id AS "userId"`];

export function createLoaders(db: FoodDb) {
  const orderLoaders = loaderPerKey<DataLoader<string, FoodOrderRow[], unknown>>();
  return {
    meal: rowLoader<string, Meal>(
      (ids) => db.prisma.meal.findMany({ where: { id: { in: [...ids] } } }),
      (m) => m.id,
    ),
    // Entity batches (a course's students) read straight from the pool: one SELECT, no ORM per row.
    wallet: rowLoader<string, WalletRow>(
      (ids) => db.read(`SELECT user_id AS "userId", balance FROM wallets WHERE user_id = ANY($1::uuid[])`, [ids]),
      (w) => w.userId,
    ),
    /** Users' orders, newest first, with only the columns the selection asks for. */
    ordersOfUsers: (info: GraphQLResolveInfo) => {
      const columns = selectColumns(info, ORDER_COLUMNS, ORDER_KEYS);
      return orderLoaders(columns, () =>
        groupLoader<string, FoodOrderRow>(
          (ids) =>
            db.read(
              `SELECT ${columns} FROM food_orders WHERE user_id = ANY($1::uuid[]) ORDER BY created_at DESC, id DESC`,
              [ids],
            ),
          (o) => o.userId,
        ),
      );
    },
  };
}
