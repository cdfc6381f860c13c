// Sends the mail outbox (nodemailer over SMTP). Mails are claimed a few at a time with a lease
// (FOR UPDATE SKIP LOCKED: replicas never send the same mail twice at once; a replica that dies
// mid-send leaves its mails to be retried when the lease ends), sent, and marked; a failure is
// retried with backoff, so a mail server outage delays mails and loses none. Without SMTP_URL the
// mails are written to the log instead.
import nodemailer from "nodemailer";
import { type Logger, type Metrics } from "@pooya/runtime";
import { CommitSignal, type PoolLike } from "@pooya/events";
import { renderMail } from "./mail-templates.ts";
import type { MailTemplate } from "./generated/prisma/client.ts";

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
    const { rows } = await pool.query<ClaimedMail>(
      `UPDATE outgoing_mails m SET attempts = m.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
       FROM (SELECT id FROM outgoing_mails WHERE status = 'PENDING' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
       WHERE m.id = due.id
       RETURNING m.id, m.user_id, m.template, m.data, m.attempts, m.created_at`,
      [BATCH, LEASE_SECONDS],
    );
    return rows;
  }

  async function deliver(mail: ClaimedMail, recipient: { email: string; name: string } | undefined): Promise<void> {
    if (!recipient) {
      if (Date.now() - mail.created_at.getTime() > UNKNOWN_RECIPIENT_GIVE_UP_MS) {
        await pool.query(
          `UPDATE outgoing_mails SET status = 'FAILED', last_error = 'no address known for this user' WHERE id = $1`,
          [mail.id],
        );
        log.error({ mailId: mail.id, userId: mail.user_id }, "mail given up: no address known for its recipient");
        outcomes?.inc({ template: mail.template, outcome: "failed" });
        return;
      }
      // Not an attempt: the account's event has not arrived yet.
      await pool.query(
        `UPDATE outgoing_mails SET attempts = attempts - 1, next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1`,
        [mail.id, unknownRecipientWaitSeconds(Date.now() - mail.created_at.getTime())],
      );
      return;
    }
    const rendered = renderMail(mail.template, mail.data, recipient);
    if (!transport) {
      log.info(
        { mailId: mail.id, to: recipient.email, subject: rendered.subject, text: rendered.text },
        "mail not sent (no SMTP_URL): written here instead",
      );
      await pool.query(
        `UPDATE outgoing_mails SET status = 'LOGGED', sent_to = $2, subject = $3, sent_at = now() WHERE id = $1`,
        [mail.id, recipient.email, rendered.subject],
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
        await pool.query(`UPDATE outgoing_mails SET status = 'FAILED', last_error = $2 WHERE id = $1`, [
          mail.id,
          reason,
        ]);
        log.error({ mailId: mail.id, attempts: mail.attempts, reason }, "mail given up after its last attempt");
        outcomes?.inc({ template: mail.template, outcome: "failed" });
      } else {
        await pool.query(
          `UPDATE outgoing_mails SET last_error = $2, next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1`,
          [mail.id, reason, retryDelaySeconds(mail.attempts)],
        );
        outcomes?.inc({ template: mail.template, outcome: "retry" });
      }
      throw error;
    }
    await pool.query(
      `UPDATE outgoing_mails SET status = 'SENT', sent_to = $2, subject = $3, sent_at = now(), last_error = NULL WHERE id = $1`,
      [mail.id, recipient.email, rendered.subject],
    );
    outcomes?.inc({ template: mail.template, outcome: "sent" });
  }

  /** Sends what is due; true when a full batch was claimed (more may be waiting). */
  async function round(): Promise<boolean> {
    const mails = await claim();
    if (mails.length === 0) return false;
    const { rows } = await pool.query<{ user_id: string; email: string; name: string }>(
      "SELECT user_id, email, name FROM recipients WHERE user_id = ANY($1::uuid[])",
      [[...new Set(mails.map((m) => m.user_id))]],
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
