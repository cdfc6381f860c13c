import type { GraphQLResolveInfo } from "graphql";
import type DataLoader from "dataloader";
import { type Viewer } from "@pooya/identity";
import { loaderPerKey, rowLoader, selectColumns, type Connection } from "@pooya/subgraph-kit";
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
const USER_COLUMNS = { email: "email", name: "name", role: "role", createdAt: `created_at AS "createdAt"` } as const;

export function createLoaders(db: UsersDb) {
  const userLoaders = loaderPerKey<DataLoader<string, UserRow | null>>();
  return {
    /**
     * Every User reference in a request (from any subgraph) becomes one SELECT of the columns
     * its selection asks for, straight from the pool.
     */
    users: (info: Pick<GraphQLResolveInfo, "fieldNodes" | "fragments">) => {
      const columns = selectColumns(info, USER_COLUMNS, ["id"]);
      return userLoaders(columns, () =>
        rowLoader<string, UserRow>(
          (ids) => db.read(`SELECT ${columns} FROM users WHERE id = ANY($1::uuid[])`, [ids]),
          (u) => u.id,
        ),
      );
    },
  };
}
