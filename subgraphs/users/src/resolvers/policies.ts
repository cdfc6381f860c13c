// The named policies users' schema.graphql declares with @policy (checked by the subgraph kit).
import type { Policies } from "@pooya/subgraph-kit";
import type { UsersContext } from "../context.ts";

export const policies: Policies<UsersContext> = {
  /**
   * The user themself or STAFF. On Query.user(id) the user is the argument; on a field of User
   * (User.active) it is the parent.
   */
  self_or_staff: (viewer, parent: { id?: string } | null | undefined, args: { id?: string }) =>
    viewer.role === "STAFF" || viewer.userId === (args.id ?? parent?.id),
};
