// Accounts and sessions: registration, sign-in, refresh-token rotation, sign-out; the edits of an
// account (its name, its password, staff's deactivation), each with its event.
import {
  badUserInput,
  clientAddressKey,
  codeLabel,
  conflict,
  domainError,
  notFound,
  unauthenticated,
  type RateLimit,
} from "@pooya/runtime";
import { type Role } from "@pooya/identity";
import { isUuid, requireText } from "@pooya/subgraph-kit";
import { asUuid, runQuery, runStatement, sql } from "@pooya/events";
import { Prisma, type User } from "./generated/prisma/client.ts";
import type { UsersDb, UsersOutbox, UsersTransaction } from "./service.ts";
import { userEvents } from "./events.ts";
import { tables } from "./tables.ts";
import { hashPassword, verifyPassword } from "./auth/passwords.ts";
import {
  ACCESS_TOKEN_TTL_SECONDS,
  REFRESH_TOKEN_TTL_MS,
  hashRefreshToken,
  newRefreshToken,
  type AccessTokenIssuer,
} from "./auth/tokens.ts";

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
/**
 * Sign-in abuse limits (docs/token-flow.md): attempts are counted *before* the password is
 * checked, so parallel guesses cannot slip past the count.
 * - per account and client: `perAccountAndClient` (5 per 15 min by default); a success clears it.
 *   A stranger locks out only themself.
 * - per account, from everywhere: `accountCeiling` attempts per `accountWindowMs` (50 per hour),
 *   counted in the users table by one conditional UPDATE — the bound on a distributed attack,
 *   at the price that a botnet can make the owner wait too.
 * Unknown emails are counted the same way (in the limiter), so their answers match real ones.
 */
export interface LoginLimits {
  perAccountAndClient: RateLimit;
  unknownAccount: RateLimit;
  accountCeiling: number;
  accountWindowMs: number;
}

export interface NewAccount {
  email: string;
  password: string;
  name: string;
  role: Role;
}

const NAME_MAX = 100;

function checkPassword(password: string, field: string) {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw badUserInput(`${field} must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`, field);
  }
}

function validateAccount(input: NewAccount): NewAccount {
  const email = input.email.trim().toLowerCase();
  if (email.length > 254 || !EMAIL_PATTERN.test(email))
    throw badUserInput("email is not a valid email address.", "email");
  checkPassword(input.password, "password");
  return { ...input, email, name: requireText(input.name, "name", { max: NAME_MAX }) };
}

/** A whole users row as hand-written SQL returns it (the Prisma model's field names). */
const USER_ROW = [
  "id",
  "email",
  "name",
  "role",
  "password_hash as passwordHash",
  "created_at as createdAt",
  "failed_logins as failedLogins",
  "failed_logins_since as failedLoginsSince",
  "active",
] as const;

/** Why login, refresh and the account's own edits refuse a deactivated account (extensions.reason). */
export const ACCOUNT_DEACTIVATED = "ACCOUNT_DEACTIVATED";

const accountDeactivated = () =>
  domainError("UNAUTHENTICATED", "This account has been deactivated. Ask the staff office to reactivate it.", {
    reason: ACCOUNT_DEACTIVATED,
  });
const sessionExpired = () => domainError("UNAUTHENTICATED", "This refresh token is not valid any more: sign in again.");
const wrongCredentials = () => domainError("UNAUTHENTICATED", "Email or password is wrong.");
const tooManyAttempts = (retryAfterSeconds: number) =>
  domainError(
    "TOO_MANY_REQUESTS",
    `Too many sign-in attempts for this account; try again in ${Math.ceil(retryAfterSeconds / 60)} minute(s).`,
    { retryAfterSeconds },
  );

/** What accounts report as they work (metrics). */
export interface AccountsObserver {
  login(outcome: string): void;
}

export function createAccounts(
  db: UsersDb,
  outbox: UsersOutbox,
  accessTokens: AccessTokenIssuer,
  limits: LoginLimits,
  observe: AccountsObserver = { login: () => undefined },
) {
  /** A new refresh token (in `client`: the pool, or the transaction that makes the session valid) and access token. */
  async function startSession(
    user: User,
    familyId: string = crypto.randomUUID(),
    client: Pick<UsersTransaction, "refreshToken"> = db.prisma,
  ) {
    const refresh = newRefreshToken();
    await client.refreshToken.create({
      data: {
        tokenHash: refresh.tokenHash,
        familyId,
        userId: user.id,
        expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_MS),
      },
    });
    return {
      accessToken: await accessTokens.issue(user),
      refreshToken: refresh.token,
      expiresIn: ACCESS_TOKEN_TTL_SECONDS,
      user,
    };
  }

  /** A new account and its event: UserRegistered when someone signed up, else UserCreated (by `createdBy`, null: at start). */
  async function createAccount(
    input: NewAccount,
    origin: { registered: true } | { createdBy: string | null },
  ): Promise<User> {
    const account = validateAccount(input);
    const passwordHash = await hashPassword(account.password);
    try {
      return await outbox.transaction(async (tx, emit) => {
        const user = await tx.user.create({
          data: { email: account.email, name: account.name, role: account.role, passwordHash },
        });
        const facts = { userId: user.id, email: user.email, name: user.name, role: user.role };
        emit(
          "registered" in origin
            ? userEvents.create("UserRegistered", facts)
            : userEvents.create("UserCreated", { ...facts, createdBy: origin.createdBy }),
        );
        return user;
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        throw conflict("An account with this email already exists.");
      }
      throw error;
    }
  }

  /** One sign-in: limits first, then the password (see LoginLimits). */
  async function signIn(email: string, password: string, clientIp: string | null) {
    const address = email.trim().toLowerCase();
    // Nothing this long was ever registered: wrong, without spending a hash on it.
    if (address.length > 254 || password.length > PASSWORD_MAX) throw wrongCredentials();
    // The client as the gateway's limits count it (an IPv6 address by its /64).
    const client = clientIp ? clientAddressKey(clientIp) : "unknown";
    const pair = await limits.perAccountAndClient.consume(`${address}|${client}`);
    if (!pair.allowed) throw tooManyAttempts(pair.retryAfterSeconds);

    // Reserve one attempt against the account-wide ceiling in one statement: of many parallel
    // guesses, only as many as the ceiling allows get a row back (and a password check).
    const windowSeconds = limits.accountWindowMs / 1000;
    const [reserved]: User[] = await runQuery(
      db.prisma,
      tables
        .updateTable("users")
        .set((eb) => {
          // The account's window has passed (or never began): this attempt starts a new one.
          const windowOver = () =>
            eb.or([
              eb("failed_logins_since", "is", null),
              eb("failed_logins_since", "<", sql<Date>`now() - make_interval(secs => ${windowSeconds})`),
            ]);
          return {
            failed_logins: eb
              .case()
              .when(windowOver())
              .then(eb.lit(1))
              .else(eb("failed_logins", "+", eb.lit(1)))
              .end(),
            failed_logins_since: eb
              .case()
              .when(windowOver())
              .then(sql<Date>`now()`)
              .else(eb.ref("failed_logins_since"))
              .end(),
          };
        })
        .where("email", "=", address)
        .where((eb) =>
          eb.or([
            eb("failed_logins_since", "is", null),
            eb("failed_logins_since", "<", sql<Date>`now() - make_interval(secs => ${windowSeconds})`),
            eb("failed_logins", "<", limits.accountCeiling),
          ]),
        )
        .returning(USER_ROW),
    );
    if (!reserved) {
      const locked = await db.prisma.user.findUnique({
        where: { email: address },
        select: { failedLoginsSince: true },
      });
      if (locked?.failedLoginsSince) {
        throw tooManyAttempts(
          Math.max(1, Math.ceil((locked.failedLoginsSince.getTime() + limits.accountWindowMs - Date.now()) / 1000)),
        );
      }
      // No such account: counted like one, checked against a decoy, answered like a wrong password.
      const unknown = await limits.unknownAccount.consume(address);
      if (!unknown.allowed) throw tooManyAttempts(unknown.retryAfterSeconds);
      await verifyPassword(null, password);
      throw wrongCredentials();
    }
    if (!(await verifyPassword(reserved.passwordHash, password))) throw wrongCredentials();
    // The right password: this attempt is given back, and this client's count cleared.
    await runStatement(
      db.prisma,
      tables
        .updateTable("users")
        .set((eb) => ({ failed_logins: eb.fn("greatest", [eb("failed_logins", "-", eb.lit(1)), eb.lit(0)]) }))
        .where("id", "=", asUuid(reserved.id)),
    );
    await limits.perAccountAndClient.reset(`${address}|${client}`);
    // Said only to whoever knows the password: a guesser learns nothing about the account.
    if (!reserved.active) throw accountDeactivated();
    return startSession(reserved);
  }

  /** The account's row, locked until the transaction ends (FOR UPDATE: an edit; FOR SHARE: a refresh). */
  async function lockedUser(tx: UsersTransaction, id: string, mode: "update" | "share"): Promise<User | undefined> {
    const select = tables.selectFrom("users").select(USER_ROW).where("id", "=", asUuid(id));
    const [row]: User[] = await runQuery(tx, mode === "update" ? select.forUpdate() : select.forShare());
    return row;
  }

  /** The signed-in account, for an edit of its own: it must exist and be active. */
  function requireOwnAccount(user: User | undefined | null): User {
    if (!user) throw unauthenticated("This account no longer exists.");
    if (!user.active) throw accountDeactivated();
    return user;
  }

  /** Staff's switch: deactivation ends every session at once; either way the change is an event. */
  async function setActive(staffId: string, id: string, active: boolean): Promise<User> {
    if (!active && id === staffId) throw badUserInput("You cannot deactivate your own account.", "id");
    if (!isUuid(id)) throw notFound("User", id);
    return outbox.transaction(async (tx, emit) => {
      const user = await lockedUser(tx, id, "update");
      if (!user) throw notFound("User", id);
      if (user.active === active) return user; // already so: nothing changes, nothing to announce
      await tx.user.update({ where: { id }, data: { active } });
      if (!active) await revokeAllSessions(tx, id);
      emit(userEvents.create(active ? "UserReactivated" : "UserDeactivated", { userId: id }));
      return { ...user, active };
    });
  }

  /** Every refresh token of the account stops working (its sessions end when their access tokens expire). */
  const revokeAllSessions = (tx: UsersTransaction, userId: string) =>
    tx.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } });

  return {
    createAccount,

    async register(input: { email: string; password: string; name: string }) {
      return startSession(await createAccount({ ...input, role: "STUDENT" }, { registered: true }));
    },

    async login(email: string, password: string, clientIp: string | null) {
      try {
        const session = await signIn(email, password, clientIp);
        observe.login("ok");
        return session;
      } catch (error) {
        observe.login(codeLabel((error as { extensions?: { code?: unknown } }).extensions?.code));
        throw error;
      }
    },

    async refresh(token: string) {
      const tokenHash = hashRefreshToken(token);
      const found = await db.prisma.refreshToken.findUnique({
        where: { tokenHash },
        select: { userId: true, familyId: true },
      });
      if (!found) throw sessionExpired();
      const now = new Date();
      const outcome = await outbox.transaction(async (tx) => {
        // The account's row first, FOR SHARE: a password change or a deactivation (which lock it
        // to revoke every token) waits for this refresh to commit, or this refresh waits for them
        // and then finds its token revoked, so no new token slips past their revocation.
        const user = await lockedUser(tx, found.userId, "share");
        if (!user) return "expired" as const;
        if (!user.active) return "deactivated" as const;
        // One conditional UPDATE: of two concurrent refreshes with the same token, one wins.
        const claimed = await tx.refreshToken.updateMany({
          where: { tokenHash, usedAt: null, revokedAt: null, expiresAt: { gt: now } },
          data: { usedAt: now },
        });
        if (claimed.count !== 1) return "expired" as const;
        return startSession(user, found.familyId, tx);
      });
      if (outcome === "deactivated") throw accountDeactivated();
      if (outcome === "expired") {
        const stored = await db.prisma.refreshToken.findUnique({ where: { tokenHash }, select: { usedAt: true } });
        if (stored?.usedAt) {
          await db.prisma.refreshToken.updateMany({
            where: { familyId: found.familyId, revokedAt: null },
            data: { revokedAt: now },
          });
        }
        throw sessionExpired();
      }
      return outcome;
    },

    async logout(userId: string, token: string): Promise<boolean> {
      const stored = await db.prisma.refreshToken.findUnique({ where: { tokenHash: hashRefreshToken(token) } });
      if (!stored || stored.userId !== userId) return false;
      const revoked = await db.prisma.refreshToken.updateMany({
        where: { familyId: stored.familyId, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      return revoked.count > 0;
    },

    /** The viewer's own name (trimmed, 1 to 100 characters, as at sign-up). */
    async updateProfile(userId: string, input: { name: string }): Promise<User> {
      const name = requireText(input.name, "name", { max: NAME_MAX });
      return outbox.transaction(async (tx, emit) => {
        const user = requireOwnAccount(await lockedUser(tx, userId, "update"));
        await tx.user.update({ where: { id: userId }, data: { name } });
        emit(userEvents.create("UserProfileUpdated", { userId, name }));
        return { ...user, name };
      });
    },

    /**
     * The viewer's own password: the current one must be right (a wrong one counts against the
     * sign-in limit of this account and client, as a wrong login does). Every refresh token of the
     * account is revoked, so every other session ends at once; the caller gets a new pair.
     */
    async changePassword(userId: string, currentPassword: string, newPassword: string, clientIp: string | null) {
      checkPassword(newPassword, "newPassword");
      if (newPassword === currentPassword)
        throw badUserInput("newPassword must differ from the current password.", "newPassword");
      const account = requireOwnAccount(await db.prisma.user.findUnique({ where: { id: userId } }));
      const limitKey = `${account.email}|${clientIp ? clientAddressKey(clientIp) : "unknown"}`;
      const attempt = await limits.perAccountAndClient.consume(limitKey);
      if (!attempt.allowed) throw tooManyAttempts(attempt.retryAfterSeconds);
      if (currentPassword.length > PASSWORD_MAX || !(await verifyPassword(account.passwordHash, currentPassword)))
        throw badUserInput("The current password is wrong.", "currentPassword");
      await limits.perAccountAndClient.reset(limitKey);
      const passwordHash = await hashPassword(newPassword);
      return outbox.transaction(async (tx, emit) => {
        // Locked: a refresh in flight either commits before (and its new token is revoked here) or waits.
        const user = requireOwnAccount(await lockedUser(tx, userId, "update"));
        if (user.passwordHash !== account.passwordHash)
          throw conflict("The password was changed at the same time elsewhere: sign in again.");
        await tx.user.update({ where: { id: userId }, data: { passwordHash } });
        await revokeAllSessions(tx, userId);
        emit(userEvents.create("UserPasswordChanged", { userId }));
        return startSession({ ...user, passwordHash }, undefined, tx);
      });
    },

    /** STAFF: the account can no longer sign in or refresh, and its refresh tokens are revoked. */
    deactivate: (staffId: string, id: string) => setActive(staffId, id, false),
    /** STAFF: a deactivated account may sign in again (its old sessions stay ended). */
    reactivate: (staffId: string, id: string) => setActive(staffId, id, true),

    /** The first STAFF account, from POOYA_ADMIN_EMAIL/POOYA_ADMIN_PASSWORD, if it does not exist yet. True when created. */
    async ensureAdmin(email: string, password: string): Promise<boolean> {
      const existing = await db.prisma.user.findUnique({ where: { email: email.trim().toLowerCase() } });
      if (existing) return false;
      try {
        await createAccount({ email, password, name: "Administrator", role: "STAFF" }, { createdBy: null });
        return true;
      } catch (error) {
        // Another instance created it at the same moment.
        if (!(
          error instanceof Error &&
          "extensions" in error &&
          (error as { extensions: { code?: string } }).extensions.code === "CONFLICT"
        ))
          throw error;
        return false;
      }
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
