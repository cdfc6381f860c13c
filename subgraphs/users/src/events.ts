// The events users publishes (docs/events.md is generated from this catalogue). They carry the
// e-mail address: the services that write to people (notifications) keep it from here.
import { defineEvents, eventFields } from "@pooya/events";
import { z } from "zod";

const role = z.enum(["STUDENT", "TEACHER", "STAFF"]);
const account = {
  userId: eventFields.id().describe("The account's id (the User entity's id)"),
  email: z.string().describe("Where mail for the account goes (lower-case)"),
  name: z.string().describe("The name the account was created with"),
  role: role.describe("What the account may do"),
};

export const userEvents = defineEvents("users", {
  UserRegistered: {
    version: 1,
    description: "Someone signed up (register): a new STUDENT account.",
    payload: z.object(account),
    entities: (e) => [{ type: "User", id: e.userId }],
  },
  UserCreated: {
    version: 1,
    description: "Staff created an account of any role (createUser), or the first STAFF account was created at start.",
    payload: z.object({
      ...account,
      createdBy: eventFields.id().nullable().describe("The STAFF user who created it; null for the first account"),
    }),
    entities: (e) => [{ type: "User", id: e.userId }],
  },
  UserImported: {
    version: 1,
    description:
      "An account that existed before the outbox did, announced once by the migration that added it (not a sign-up: no welcome).",
    payload: z.object(account),
    entities: (e) => [{ type: "User", id: e.userId }],
  },
  UserProfileUpdated: {
    version: 1,
    description: "Someone changed their own name (updateMyProfile).",
    payload: z.object({ userId: account.userId, name: z.string().describe("The account's name from now on") }),
    entities: (e) => [{ type: "User", id: e.userId }],
  },
  UserPasswordChanged: {
    version: 1,
    description:
      "Someone changed their own password (changeMyPassword): every refresh token of the account was revoked with it.",
    payload: z.object({ userId: account.userId }),
    entities: (e) => [{ type: "User", id: e.userId }],
  },
  UserDeactivated: {
    version: 1,
    description:
      "Staff deactivated the account (deactivateUser): its refresh tokens were revoked with it, it cannot sign in or refresh, and its access tokens are to be refused.",
    payload: z.object({ userId: account.userId }),
    entities: (e) => [{ type: "User", id: e.userId }],
  },
  UserReactivated: {
    version: 1,
    description: "Staff reactivated a deactivated account (reactivateUser): it can sign in again.",
    payload: z.object({ userId: account.userId }),
    entities: (e) => [{ type: "User", id: e.userId }],
  },
});
