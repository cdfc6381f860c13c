// Who a user is (exists? which role?), asked of the users service: other services keep no copy.
import { createServiceClient } from "./service-auth.ts";
import { domainError } from "./errors.ts";
import type { Role } from "./identity.ts";

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
        answer = await call<{ users: DirectoryUser[] }>("/internal/users/lookup", { method: "POST", body: { ids: [id] } });
      } catch {
        throw domainError("SERVICE_UNAVAILABLE", "The users service cannot be reached right now; try again shortly.");
      }
      return answer.users.find((u) => u.id === id) ?? null;
    },
  };
}

export type UsersDirectory = ReturnType<typeof createUsersDirectory>;
