import { rowLoader, type Viewer } from "@pooya/platform";
import type { UsersDb } from "./db.ts";
import type { Accounts } from "./accounts.ts";
import type { User } from "./generated/prisma/client.ts";

export interface UsersContext {
  viewer: Viewer;
  /** The client's address, as the gateway asserts it (sign-in limits). */
  clientIp: string | null;
  db: UsersDb;
  accounts: Accounts;
  loaders: ReturnType<typeof createLoaders>;
}

export function createLoaders(db: UsersDb) {
  return {
    // Every User reference in a request (from any subgraph) becomes one SELECT … WHERE id IN (…).
    user: rowLoader<string, User>((ids) => db.prisma.user.findMany({ where: { id: { in: [...ids] } } }), (u) => u.id),
  };
}
