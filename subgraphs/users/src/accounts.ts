// Accounts and sessions: registration, sign-in, refresh-token rotation, sign-out.
import { badUserInput, conflict, domainError, requireText, type Role } from "@pooya/platform";
import { Prisma, type User } from "./generated/prisma/client.ts";
import type { UsersDb } from "./db.ts";
import { hashPassword, verifyPassword } from "./auth/passwords.ts";
import { ACCESS_TOKEN_TTL_SECONDS, REFRESH_TOKEN_TTL_MS, hashRefreshToken, newRefreshToken, type AccessTokenIssuer } from "./auth/tokens.ts";

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
/** After this many consecutive wrong passwords, one attempt per LOGIN_LOCK_MS. */
export const MAX_FAILED_LOGINS = 5;
export const LOGIN_LOCK_MS = 15 * 60 * 1000;

export interface NewAccount {
  email: string;
  password: string;
  name: string;
  role: Role;
}

function validateAccount(input: NewAccount): NewAccount {
  const email = input.email.trim().toLowerCase();
  if (email.length > 254 || !EMAIL_PATTERN.test(email)) throw badUserInput("email is not a valid email address.", "email");
  if (input.password.length < PASSWORD_MIN || input.password.length > PASSWORD_MAX) {
    throw badUserInput(`password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`, "password");
  }
  return { ...input, email, name: requireText(input.name, "name", { max: 100 }) };
}

const sessionExpired = () => domainError("UNAUTHENTICATED", "This refresh token is not valid any more: sign in again.");

export function createAccounts(db: UsersDb, accessTokens: AccessTokenIssuer) {
  async function startSession(user: User, familyId: string = crypto.randomUUID()) {
    const refresh = newRefreshToken();
    await db.prisma.refreshToken.create({
      data: { tokenHash: refresh.tokenHash, familyId, userId: user.id, expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_MS) },
    });
    return { accessToken: await accessTokens.issue(user), refreshToken: refresh.token, expiresIn: ACCESS_TOKEN_TTL_SECONDS, user };
  }

  async function createAccount(input: NewAccount): Promise<User> {
    const account = validateAccount(input);
    const passwordHash = await hashPassword(account.password);
    try {
      return await db.prisma.user.create({ data: { email: account.email, name: account.name, role: account.role, passwordHash } });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        throw conflict("An account with this email already exists.");
      }
      throw error;
    }
  }

  return {
    createAccount,

    async register(input: { email: string; password: string; name: string }) {
      return startSession(await createAccount({ ...input, role: "STUDENT" }));
    },

    async login(email: string, password: string) {
      const user = await db.prisma.user.findUnique({ where: { email: email.trim().toLowerCase() } });
      const now = Date.now();
      if (user && user.failedLogins >= MAX_FAILED_LOGINS && user.lastFailedLoginAt) {
        const retryAt = user.lastFailedLoginAt.getTime() + LOGIN_LOCK_MS;
        if (retryAt > now) {
          // Checked before the password, so guessing on gets no answer at all.
          throw domainError("TOO_MANY_REQUESTS", "Too many wrong passwords for this account; try again later.", {
            retryAfterSeconds: Math.ceil((retryAt - now) / 1000),
          });
        }
      }
      const ok = await verifyPassword(user?.passwordHash ?? null, password);
      if (!user || !ok) {
        if (user) {
          await db.prisma.user.update({ where: { id: user.id }, data: { failedLogins: { increment: 1 }, lastFailedLoginAt: new Date(now) } });
        }
        throw domainError("UNAUTHENTICATED", "Email or password is wrong.");
      }
      if (user.failedLogins > 0) await db.prisma.user.update({ where: { id: user.id }, data: { failedLogins: 0, lastFailedLoginAt: null } });
      return startSession(user);
    },

    async refresh(token: string) {
      const tokenHash = hashRefreshToken(token);
      const now = new Date();
      // One conditional UPDATE: of two concurrent refreshes with the same token, one wins.
      const claimed = await db.prisma.refreshToken.updateMany({
        where: { tokenHash, usedAt: null, revokedAt: null, expiresAt: { gt: now } },
        data: { usedAt: now },
      });
      const stored = await db.prisma.refreshToken.findUnique({ where: { tokenHash }, include: { user: true } });
      if (claimed.count !== 1 || !stored) {
        if (stored?.usedAt) {
          await db.prisma.refreshToken.updateMany({ where: { familyId: stored.familyId, revokedAt: null }, data: { revokedAt: now } });
        }
        throw sessionExpired();
      }
      return startSession(stored.user, stored.familyId);
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

    /** The first STAFF account, from POOYA_ADMIN_EMAIL/POOYA_ADMIN_PASSWORD, if it does not exist yet. True when created. */
    async ensureAdmin(email: string, password: string): Promise<boolean> {
      const existing = await db.prisma.user.findUnique({ where: { email: email.trim().toLowerCase() } });
      if (existing) return false;
      try {
        await createAccount({ email, password, name: "Administrator", role: "STAFF" });
        return true;
      } catch (error) {
        // Another instance created it at the same moment.
        if (!(error instanceof Error && "extensions" in error && (error as { extensions: { code?: string } }).extensions.code === "CONFLICT")) throw error;
        return false;
      }
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
