// Users' transactional outbox: an account and its event commit together.
import { TRANSACTION_OPTIONS, createOutbox, type Outbox } from "@pooya/platform";
import type { UsersDb } from "./db.ts";

export type UsersTransaction = Parameters<Parameters<UsersDb["prisma"]["$transaction"]>[0]>[0];
export type UsersOutbox = Outbox<UsersTransaction>;

export function createUsersOutbox(db: UsersDb): UsersOutbox {
  return createOutbox<UsersTransaction>({
    source: "users",
    pool: db.pool,
    transaction: (work) => db.prisma.$transaction(work, TRANSACTION_OPTIONS),
  });
}
