// Who a user is (exists? which role?), asked of the users service by the services that need it:
// they keep no copy of users. The users service owns this endpoint, so it owns its client too.
import { createServiceClient, domainError, type Role } from "@pooya/platform";

export const USERS_LOOKUP_PATH = "/internal/users/lookup";
export const ACCESS_TOKEN_KEYS_PATH = "/.well-known/jwks.json";

export interface DirectoryUser {
  id: string;
  role: Role;
}

export function createUsersDirectory(options: { usersUrl: string; secret: string; caller: string }) {
  const call = createServiceClient({ secret: options.secret, caller: options.caller, callee: "users", baseUrl: options.usersUrl });
  return {
    async find(id: string): Promise<DirectoryUser | null> {
      let answer: { users: DirectoryUser[] };
      try {
        answer = await call<{ users: DirectoryUser[] }>(USERS_LOOKUP_PATH, { method: "POST", body: { ids: [id] } });
      } catch {
        throw domainError("SERVICE_UNAVAILABLE", "The users service cannot be reached right now; try again shortly.");
      }
      return answer.users.find((u) => u.id === id) ?? null;
    },
  };
}

export type UsersDirectory = ReturnType<typeof createUsersDirectory>;
