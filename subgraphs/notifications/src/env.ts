// The notifications service's variables: the subgraph's common ones, the services whose events
// it reads, how events travel, and how mail goes out.
import { callVariables, env, eventVariables, serviceIdentityVariables, subgraphVariables } from "@pooya/platform";

export const notificationsEnv = {
  ...subgraphVariables("notifications", 4005),
  USERS_URL: env.httpUrl().describe("base URL of the users service (its event feed)"),
  COURSES_URL: env.httpUrl().describe("base URL of the courses service (its event feed)"),
  ATTENDANCE_URL: env.httpUrl().describe("base URL of the attendance service (its event feed)"),
  FOOD_URL: env.httpUrl().describe("base URL of the food service (its event feed)"),
  SMTP_URL: env.smtpUrl().optional()
    .describe("the mail server (`smtp://user:password@host:587`, `smtps://…:465`; URL-encode special characters); unset: mails are written to the log, not sent"),
  MAIL_FROM: env.text({ max: 200 }).default("Pooya <no-reply@pooya.local>").describe("the From of every mail"),
  MAIL_MAX_ATTEMPTS: env.integer({ min: 1, max: 100 }).default(10)
    .describe("sending attempts per mail (backing off from 2 s to 10 min between them) before it is marked FAILED"),
  MAIL_TIMEOUT_MS: env.integer({ min: 100, max: 120_000 }).default(10_000).describe("time to connect to the mail server, and for each of its answers"),
  ...callVariables(["users", "courses", "attendance", "food"]),
  ...serviceIdentityVariables("notifications"),
  ...eventVariables(),
};

export type NotificationsEnv = typeof notificationsEnv;
