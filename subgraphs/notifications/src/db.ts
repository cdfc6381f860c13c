import { connectDatabase, retryTransientReads, type DatabaseOptions } from "@pooya/platform";
import { PrismaClient } from "./generated/prisma/client.ts";

export type NotificationsDb = ReturnType<typeof connectNotificationsDb>;

export function connectNotificationsDb(databaseUrl: string, options: DatabaseOptions) {
  return connectDatabase(databaseUrl, options, (adapter, countStatement) => {
    const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
    prisma.$on("query", countStatement);
    return prisma.$extends(retryTransientReads);
  });
}

export type NotificationsTransaction = Parameters<Parameters<NotificationsDb["prisma"]["$transaction"]>[0]>[0];
