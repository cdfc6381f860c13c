import type { GraphQLResolveInfo } from "graphql";
import type DataLoader from "dataloader";
import { type Viewer } from "@pooya/identity";
import { loaderPerKey, rowLoader, selectedColumns, type Connection } from "@pooya/subgraph-kit";
import { asUuids } from "@pooya/events";
import { tables } from "./tables.ts";
import type { UsersDb } from "./service.ts";
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

/** A user as its resolvers read it: a Prisma row (after sign-up), or the columns a query's selection asked for. */
export type UserRow = Pick<User, "id"> & Partial<User>;

/** A page of users (STAFF's list): whole rows, they carry the keyset position. */
export type UserPage = Connection<User>;

/** The column behind each User field. The password hash is never read for an answer. */
const USER_COLUMNS = {
  email: "email",
  name: "name",
  role: "role",
  createdAt: "created_at as createdAt",
  active: "active",
} as const;
const USER_KEYS: ((typeof USER_COLUMNS)[keyof typeof USER_COLUMNS] | "id")[] = ["id"];

export function createLoaders(db: UsersDb) {
  const userLoaders = loaderPerKey<DataLoader<string, UserRow | null>>();
  return {
    /**
     * Every User reference in a request (from any subgraph) becomes one SELECT of the columns
     * its selection asks for, straight from the pool.
     */
    users: (info: Pick<GraphQLResolveInfo, "fieldNodes" | "fragments">) => {
      const columns = selectedColumns(info, USER_COLUMNS, USER_KEYS);
      return userLoaders(columns.key, () =>
        rowLoader<string, UserRow>(
          (ids) =>
            db.read(
              tables
                .selectFrom("users")
                .select(columns.list)
                .where((eb) => eb("id", "=", eb.fn.any(asUuids(ids)))),
            ),
          (u) => u.id,
        ),
      );
    },
  };
}
