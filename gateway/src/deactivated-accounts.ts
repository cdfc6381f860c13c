// Accounts staff deactivated: the users service revokes their refresh tokens at once, and its
// UserDeactivated event reaches every gateway replica, which from then on refuses the access
// tokens the account still holds (UNAUTHENTICATED, reason ACCOUNT_DEACTIVATED) instead of
// letting them run out. A replica that starts later never saw the event: the tokens it accepts
// expire within their lifetime anyway, which is how long an entry is kept.
import { GraphQLError } from "graphql";
import { LRUCache } from "lru-cache";
import type { Viewer } from "@pooya/identity";

/** Longest an access token lives (the users service issues them for 15 minutes). */
export const ACCESS_TOKEN_LIFETIME_MS = 15 * 60_000;
/** Accounts remembered at most (deactivations within one token lifetime). */
const REMEMBERED = 100_000;

export function createDeactivatedAccounts(lifetimeMs = ACCESS_TOKEN_LIFETIME_MS) {
  const accounts = new LRUCache<string, true>({ max: REMEMBERED, ttl: lifetimeMs });
  return {
    /** The users service's UserDeactivated and UserReactivated events. */
    apply(events: readonly { source: string; type: string; payload: Record<string, unknown> }[]) {
      for (const event of events) {
        if (event.source !== "users" || typeof event.payload.userId !== "string") continue;
        if (event.type === "UserDeactivated") accounts.set(event.payload.userId, true);
        else if (event.type === "UserReactivated") accounts.delete(event.payload.userId);
      }
    },
    /** Throws for a viewer whose account was deactivated. */
    check(viewer: Viewer): Viewer {
      if (viewer && accounts.has(viewer.userId))
        throw new GraphQLError("This account has been deactivated.", {
          extensions: { code: "UNAUTHENTICATED", reason: "ACCOUNT_DEACTIVATED", http: { status: 401 } },
        });
      return viewer;
    },
  };
}

export type DeactivatedAccounts = ReturnType<typeof createDeactivatedAccounts>;
