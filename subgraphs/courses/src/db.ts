import { SqlStatementCounter, createPgAdapter } from "@pooya/platform";
import { PrismaClient } from "./generated/prisma/client.ts";

export type CoursesDb = ReturnType<typeof connectCoursesDb>;

export function connectCoursesDb(databaseUrl: string) {
  const { adapter, pool } = createPgAdapter(databaseUrl);
  const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  const sqlStatements = new SqlStatementCounter();
  prisma.$on("query", sqlStatements.increment);
  return { prisma, pool, sqlStatements };
}

export type CoursesTransaction = Parameters<Parameters<CoursesDb["prisma"]["$transaction"]>[0]>[0];

/** Interactive transactions wait for a pooled connection under load instead of failing at 2 s. */
export const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 15_000 } as const;
