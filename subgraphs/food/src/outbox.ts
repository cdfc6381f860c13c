// Food's transactional outbox: money, stock and their events commit together.
import { TRANSACTION_OPTIONS, createOutbox, type Outbox } from "@pooya/platform";
import type { FoodDb } from "./db.ts";

export type FoodTransaction = Parameters<Parameters<FoodDb["prisma"]["$transaction"]>[0]>[0];
export type FoodOutbox = Outbox<FoodTransaction>;

export function createFoodOutbox(db: FoodDb): FoodOutbox {
  return createOutbox<FoodTransaction>({
    source: "food",
    pool: db.pool,
    transaction: (work) => db.prisma.$transaction(work, TRANSACTION_OPTIONS),
  });
}
