// Who a user is (exists? which role?), asked of the users service by the services that need it:
// they keep no copy of users. The users service owns this endpoint, so it owns its client too.
import { dependencyError, type Upstream } from "@pooya/runtime";
import { createServiceClient, withinCallerDeadline, type Role, type ServiceIdentity } from "@pooya/identity";

export const USERS_LOOKUP_PATH = "/internal/users/lookup";
export const ACCESS_TOKEN_KEYS_PATH = "/.well-known/jwks.json";

export interface DirectoryUser {
  id: string;
  role: Role;
}

/** `upstream`: the caller's connection to the users service (its timeouts and breaker); `identity`: the caller's, which
 * signs each lookup. */
export function createUsersDirectory(options: { upstream: Upstream; identity: ServiceIdentity }) {
  const call = createServiceClient({ identity: options.identity, upstream: options.upstream });
  return {
    async find(id: string): Promise<DirectoryUser | null> {
      let answer: { users: DirectoryUser[] };
      try {
        // A lookup changes nothing: safe to send again if the connection breaks.
        answer = await call<{ users: DirectoryUser[] }>(USERS_LOOKUP_PATH, {
          method: "POST",
          body: { ids: [id] },
          idempotent: true,
          timeoutMs: withinCallerDeadline(options.upstream.timeoutMs),
        });
      } catch (error) {
        throw dependencyError(error, "users");
      }
      return answer.users.find((u) => u.id === id) ?? null;
    },
  };
}

export type UsersDirectory = ReturnType<typeof createUsersDirectory>;
