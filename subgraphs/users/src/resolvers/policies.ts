// The named policies users' schema.graphql declares with @policy (checked by the subgraph kit).
import type { Policies } from "@pooya/subgraph-kit";
import type { UsersContext } from "../context.ts";

export const policies: Policies<UsersContext> = {
  /** Query.user(id): the user themself or STAFF. */
  self_or_staff: (viewer, _parent: unknown, args: { id: string }) =>
    viewer.role === "STAFF" || viewer.userId === args.id,
};
