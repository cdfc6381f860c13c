// Wires the food domain into the subgraph kit (the definition is index.ts).
import { type Outbox } from "@pooya/events";
import { wireSubgraph, type DatabaseOf, type TransactionOf } from "@pooya/subgraph-kit";
import { createUsersDirectory } from "@pooya/users/directory";
import { PrismaClient } from "./generated/prisma/client.ts";
import { createCanteen } from "./canteen.ts";
import { createLoaders, type FoodContext } from "./context.ts";
import { createMenu } from "./menu.ts";
import { resolvers } from "./resolvers/index.ts";
import { policies } from "./resolvers/policies.ts";

export type FoodDb = DatabaseOf<typeof PrismaClient>;
export type FoodTransaction = TransactionOf<FoodDb>;
export type FoodOutbox = Outbox<FoodTransaction>;

export default wireSubgraph(
  { client: PrismaClient, resolvers, policies },
  ({ db, outbox, identity, upstream, metrics }) => {
    const purchases = metrics.counter(
      "food_purchases_total",
      "buyMeal calls, by outcome: ok, replayed (same idempotency key) or the error code",
      ["outcome"] as const,
    );
    const canteen = createCanteen(db, outbox, createUsersDirectory({ upstream: upstream("users"), identity }), {
      purchase: (outcome) => purchases.inc({ outcome }),
    });
    const menu = createMenu(db, outbox);
    return { context: ({ viewer }): FoodContext => ({ viewer, db, canteen, menu, loaders: createLoaders(db) }) };
  },
);
