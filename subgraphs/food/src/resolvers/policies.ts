// The named policies food's schema.graphql declares with @policy (checked by the subgraph kit).
import type { Policies } from "@pooya/subgraph-kit";
import type { FoodContext } from "../context.ts";

export const policies: Policies<FoodContext> = {
  /** User.wallet, User.foodOrders: wallets and orders are private, the owner themself or STAFF. */
  self_or_staff: (viewer, user: { id: string }) => viewer.role === "STAFF" || viewer.userId === user.id,
};
