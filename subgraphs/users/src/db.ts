import { SqlStatementCounter, createPgAdapter } from "@pooya/platform";
import { PrismaClient } from "./generated/prisma/client.ts";

export type UsersDb = ReturnType<typeof connectUsersDb>;

export function connectUsersDb(databaseUrl: string) {
  const { adapter, pool } = createPgAdapter(databaseUrl);
  const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  const sqlStatements = new SqlStatementCounter();
  prisma.$on("query", sqlStatements.increment);
  return { prisma, pool, sqlStatements };
}
