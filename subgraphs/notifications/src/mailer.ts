// Sends the mail outbox (nodemailer over SMTP). Mails are claimed a few at a time with a lease
// (FOR UPDATE SKIP LOCKED: replicas never send the same mail twice at once; a replica that dies
// mid-send leaves its mails to be retried when the lease ends), sent, and marked; a failure is
// retried with backoff, so a mail server outage delays mails and loses none. Without SMTP_URL the
// mails are written to the log instead.
import nodemailer from "nodemailer";
import { type Logger, type Metrics } from "@pooya/runtime";
import { CommitSignal, asUuids, runPoolQuery, sql, type PoolLike } from "@pooya/events";
import { renderMail } from "./mail-templates.ts";
import type { MailTemplate } from "./generated/prisma/client.ts";
import { tables } from "./tables.ts";

export interface MailerOptions {
  pool: PoolLike;
  smtpUrl?: string;
  from: string;
  maxAttempts: number;
  timeoutMs: number;
  /** How often due retries are looked for (new mails wake the mailer at once). */
  pollIntervalMs: number;
  log: Logger;
  metrics?: Metrics;
}

const BATCH = 20;
/** A claimed mail belongs to its sender this long; then it is due again. */
const LEASE_SECONDS = 120;
/** A mail whose recipient is not known yet (their account's event has not arrived) waits, and after this is given up. */
const UNKNOWN_RECIPIENT_GIVE_UP_MS = 24 * 3600_000;
/**
 * How long such a mail waits before it looks again: half its age, from 5 s to 10 minutes. The
 * account's event usually follows within seconds; a mail still waiting after an hour is looked
 * at every 10 minutes, not every 5 s (thousands of them kept the mailer and its database busy).
 */
export const unknownRecipientWaitSeconds = (ageMs: number) => Math.round(Math.min(600, Math.max(5, ageMs / 2_000)));

interface ClaimedMail {
  id: string;
  user_id: string;
  template: MailTemplate;
  data: Record<string, unknown>;
  attempts: number;
  created_at: Date;
}

/** Backoff after the n-th failed attempt: 2 s, 4 s, 8 s … at most 10 minutes. */
export const retryDelaySeconds = (attempts: number) => Math.min(600, 2 ** Math.min(attempts, 10));

function transportFor(smtpUrl: string, timeoutMs: number) {
  const url = new URL(smtpUrl);
  return nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === "smtps:" ? 465 : 587,
    secure: url.protocol === "smtps:",
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
}

export function createMailer(options: MailerOptions) {
  const { pool, log } = options;
  const transport = options.smtpUrl ? transportFor(options.smtpUrl, options.timeoutMs) : undefined;
  const outcomes = options.metrics?.counter(
    "mails_total",
    "Mails handled, by template and outcome: sent, logged (no SMTP_URL), retry (failed, will be tried again), failed (given up)",
    ["template", "outcome"] as const,
  );
  const wake = new CommitSignal();
  let stopped = false;
  let failing = false;

  async function claim(): Promise<ClaimedMail[]> {
    const due = tables
      .selectFrom("outgoing_mails")
      .select("id")
      .where("status", "=", "PENDING")
      .where("next_attempt_at", "<=", sql<Date>`now()`)
      .orderBy("next_attempt_at")
      .limit(BATCH)
      .forUpdate()
      .skipLocked();
    const rows = await runPoolQuery(
      pool,
      tables
        .updateTable("outgoing_mails as m")
        .from(due.as("due"))
        .set((eb) => ({
          attempts: eb("m.attempts", "+", eb.lit(1)),
          next_attempt_at: sql<Date>`now() + make_interval(secs => ${LEASE_SECONDS})`,
        }))
        .whereRef("m.id", "=", "due.id")
        .returning(["m.id", "m.user_id", "m.template", "m.data", "m.attempts", "m.created_at"]),
    );
    return rows as ClaimedMail[];
  }

  async function deliver(mail: ClaimedMail, recipient: { email: string; name: string } | undefined): Promise<void> {
    if (!recipient) {
      if (Date.now() - mail.created_at.getTime() > UNKNOWN_RECIPIENT_GIVE_UP_MS) {
        await runPoolQuery(
          pool,
          tables
            .updateTable("outgoing_mails")
            .set({ status: "FAILED", last_error: "no address known for this user" })
            .where("id", "=", mail.id),
        );
        log.error({ mailId: mail.id, userId: mail.user_id }, "mail given up: no address known for its recipient");
        outcomes?.inc({ template: mail.template, outcome: "failed" });
        return;
      }
      // Not an attempt: the account's event has not arrived yet.
      const waitSeconds = unknownRecipientWaitSeconds(Date.now() - mail.created_at.getTime());
      await runPoolQuery(
        pool,
        tables
          .updateTable("outgoing_mails")
          .set((eb) => ({
            attempts: eb("attempts", "-", eb.lit(1)),
            next_attempt_at: sql<Date>`now() + make_interval(secs => ${waitSeconds})`,
          }))
          .where("id", "=", mail.id),
      );
      return;
    }
    const rendered = renderMail(mail.template, mail.data, recipient);
    if (!transport) {
      log.info(
        { mailId: mail.id, to: recipient.email, subject: rendered.subject, text: rendered.text },
        "mail not sent (no SMTP_URL): written here instead",
      );
      await runPoolQuery(
        pool,
        tables
          .updateTable("outgoing_mails")
          .set({ status: "LOGGED", sent_to: recipient.email, subject: rendered.subject, sent_at: sql<Date>`now()` })
          .where("id", "=", mail.id),
      );
      outcomes?.inc({ template: mail.template, outcome: "logged" });
      return;
    }
    try {
      await transport.sendMail({
        from: options.from,
        to: { name: recipient.name, address: recipient.email },
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        headers: { "X-Pooya-Mail-Id": mail.id },
      });
    } catch (error) {
      const reason = (error as Error).message.slice(0, 500);
      if (mail.attempts >= options.maxAttempts) {
        await runPoolQuery(
          pool,
          tables.updateTable("outgoing_mails").set({ status: "FAILED", last_error: reason }).where("id", "=", mail.id),
        );
        log.error({ mailId: mail.id, attempts: mail.attempts, reason }, "mail given up after its last attempt");
        outcomes?.inc({ template: mail.template, outcome: "failed" });
      } else {
        await runPoolQuery(
          pool,
          tables
            .updateTable("outgoing_mails")
            .set({
              last_error: reason,
              next_attempt_at: sql<Date>`now() + make_interval(secs => ${retryDelaySeconds(mail.attempts)})`,
            })
            .where("id", "=", mail.id),
        );
        outcomes?.inc({ template: mail.template, outcome: "retry" });
      }
      throw error;
    }
    await runPoolQuery(
      pool,
      tables
        .updateTable("outgoing_mails")
        .set({
          status: "SENT",
          sent_to: recipient.email,
          subject: rendered.subject,
          sent_at: sql<Date>`now()`,
          last_error: null,
        })
        .where("id", "=", mail.id),
    );
    outcomes?.inc({ template: mail.template, outcome: "sent" });
  }

  /** Sends what is due; true when a full batch was claimed (more may be waiting). */
  async function round(): Promise<boolean> {
    const mails = await claim();
    if (mails.length === 0) return false;
    const rows = await runPoolQuery(
      pool,
      tables
        .selectFrom("recipients")
        .select(["user_id", "email", "name"])
        .where((eb) => eb("user_id", "=", eb.fn.any(asUuids([...new Set(mails.map((m) => m.user_id))])))),
    );
    const recipients = new Map(rows.map((r) => [r.user_id, r]));
    let failure: unknown;
    for (const mail of mails) {
      try {
        await deliver(mail, recipients.get(mail.user_id));
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure) {
      // Logged once per outage; each mail keeps its own error and next attempt.
      if (!failing)
        log.warn(
          { reason: (failure as Error).message },
          "cannot send mail; retrying with backoff (mails wait in the outbox)",
        );
      failing = true;
    } else if (failing) {
      failing = false;
      log.info("sending mail again");
    }
    return mails.length === BATCH;
  }

  const running = (async () => {
    while (!stopped) {
      const seen = wake.version;
      let more = false;
      try {
        more = await round();
      } catch (error) {
        if (!stopped) log.warn({ reason: (error as Error).message }, "mail outbox not readable; retrying");
      }
      if (!more) await wake.wait(options.pollIntervalMs, seen);
    }
  })();

  return {
    /** New mails were committed: send now. */
    wake: () => wake.notify(),
    sending: Boolean(transport),
    async stop() {
      stopped = true;
      wake.notify();
      await running;
      transport?.close();
    },
  };
}
