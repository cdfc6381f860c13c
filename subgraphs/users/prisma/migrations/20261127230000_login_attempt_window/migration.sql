-- The account-wide sign-in counter now counts attempts in a window that starts at its first
-- attempt: the column holds when that window began, not when the last failure happened.
ALTER TABLE "users" RENAME COLUMN "last_failed_login_at" TO "failed_logins_since";
