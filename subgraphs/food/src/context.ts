import type { GraphQLResolveInfo } from "graphql";
import DataLoader from "dataloader";
import { type Viewer } from "@pooya/identity";
import {
  groupLoader,
  loaderPerKey,
  ownedPages,
  rowLoader,
  selectedColumns,
  type Connection,
  type OwnedRow,
} from "@pooya/subgraph-kit";
import { asUuid, asUuids, sql } from "@pooya/events";
import { tables } from "./tables.ts";
import type { FoodDb } from "./service.ts";
import type { Canteen } from "./canteen.ts";
import type { Menu } from "./menu.ts";
import type { FoodOrder, Meal, Wallet } from "./generated/prisma/client.ts";

export interface FoodContext {
  viewer: Viewer;
  db: FoodDb;
  canteen: Canteen;
  menu: Menu;
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
    /** A page of each user's orders (newest first), for a batch of users in one SELECT. */
    orderPages: ownedPages<PagedOrder>((userIds, take, after) =>
      db.read<OwnedRow<PagedOrder>>(
        tables
          .selectFrom((eb) =>
            eb
              .selectFrom("food_orders")
              .select((e) => [
                "user_id as owner",
                "id",
                "user_id as userId",
                "meal_id as mealId",
                "quantity",
                "total_price as totalPrice",
                "status",
                "created_at as createdAt",
                sql<string>`row_number() OVER (PARTITION BY ${e.ref("user_id")} ORDER BY ${e.ref("created_at")} DESC, ${e.ref("id")} DESC)`.as(
                  "n",
                ),
              ])
              .where((e) => e("user_id", "=", e.fn.any(asUuids(userIds))))
              .$if(after !== null, (q) =>
                q.where((e) => e(e.refTuple("created_at", "id"), "<", e.tuple(after!.createdAt, asUuid(after!.id)))),
              )
              .as("page"),
          )
          .selectAll()
          .where("n", "<=", String(take))
          .orderBy("owner")
          .orderBy("n"),
      ),
    ),
    /** How many orders each user has (a page's totalCount), one SELECT per batch. */
    orderCounts: new DataLoader<string, number>(async (userIds) => {
      const rows = await db.read(
        tables
          .selectFrom("food_orders")
          .select(["user_id as userId", sql<number>`count(*)::int`.as("count")])
          .where((e) => e("user_id", "=", e.fn.any(asUuids(userIds))))
          .groupBy("user_id"),
      );
      const byUser = new Map(rows.map((r) => [r.userId, r.count]));
      return userIds.map((id) => byUser.get(id) ?? 0);
    }),
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
