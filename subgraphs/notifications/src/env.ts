// The notifications service's own variables: how mail goes out (the kit adds the common ones,
// the URLs of the services whose events it reads and the events').
import { env } from "@pooya/runtime";

export const notificationsEnv = {
  SMTP_URL: env
    .smtpUrl()
    .optional()
    .describe(
      "the mail server (`smtp://user:password@host:587`, `smtps://…:465`; URL-encode special characters); unset: mails are written to the log, not sent",
    ),
  MAIL_FROM: env.text({ max: 200 }).default("Pooya <no-reply@pooya.local>").describe("the From of every mail"),
  MAIL_MAX_ATTEMPTS: env
    .integer({ min: 1, max: 100 })
    .default(10)
    .describe("sending attempts per mail (backing off from 2 s to 10 min between them) before it is marked FAILED"),
  MAIL_TIMEOUT_MS: env
    .integer({ min: 100, max: 120_000 })
    .default(10_000)
    .describe("time to connect to the mail server, and for each of its answers"),
};
