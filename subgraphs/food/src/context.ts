import type { GraphQLResolveInfo } from "graphql";
import DataLoader from "dataloader";
import { type Viewer } from "@pooya/identity";
import {
  groupLoader,
  loaderPerKey,
  ownedPages,
  rowLoader,
  selectColumns,
  type Connection,
  type OwnedRow,
} from "@pooya/subgraph-kit";
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

/** An order in a page: positioned by (createdAt, id), newest first. */
export type PagedOrder = FoodOrderRow & { id: string; createdAt: Date };
/** A page of a user's orders. */
export type FoodOrderPage = Connection<PagedOrder>;

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
    /** A page of each user's orders (newest first), for a batch of users in one SELECT. */
    orderPages: ownedPages<PagedOrder>((userIds, take, after) =>
      db.read<OwnedRow<PagedOrder>>(
        `SELECT * FROM (
           SELECT user_id AS "owner", id, user_id AS "userId", meal_id AS "mealId", quantity, total_price AS "totalPrice",
                  status, created_at AS "createdAt",
                  row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC, id DESC) AS n
           FROM food_orders
           WHERE user_id = ANY($1::uuid[]) AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
         ) page WHERE n <= $4 ORDER BY "owner", n`,
        [userIds, after?.createdAt ?? null, after?.id ?? null, take],
      ),
    ),
    /** How many orders each user has (a page's totalCount), one SELECT per batch. */
    orderCounts: new DataLoader<string, number>(async (userIds) => {
      const rows = await db.read<{ userId: string; count: number }>(
        `SELECT user_id AS "userId", count(*)::int AS count FROM food_orders WHERE user_id = ANY($1::uuid[]) GROUP BY user_id`,
        [userIds],
      );
      const byUser = new Map(rows.map((r) => [r.userId, r.count]));
      return userIds.map((id) => byUser.get(id) ?? 0);
    }),
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
