import { SqlStatementCounter, createPgAdapter } from "@pooya/platform";
import { PrismaClient } from "./generated/prisma/client.ts";

export type FoodDb = ReturnType<typeof connectFoodDb>;

export function connectFoodDb(databaseUrl: string) {
  const { adapter, pool } = createPgAdapter(databaseUrl);
  const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  const sqlStatements = new SqlStatementCounter();
  prisma.$on("query", sqlStatements.increment);
  return { prisma, pool, sqlStatements };
}

export const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 15_000 } as const;
