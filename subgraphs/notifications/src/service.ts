// Wires the notifications domain into the subgraph kit (the definition is index.ts).
import { createEventConsumer } from "@pooya/events";
import { wireSubgraph, type DatabaseOf, type TransactionOf } from "@pooya/subgraph-kit";
import { PrismaClient } from "./generated/prisma/client.ts";
import { EVENT_SOURCES } from "./index.ts";
import { createNotifier } from "./notifier.ts";
import { createMailer } from "./mailer.ts";
import { createLiveNotifications } from "./live.ts";
import { createNotificationList } from "./notification-list.ts";
import type { NotificationsContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { policies } from "./resolvers/policies.ts";
import { notificationsEnv } from "./env.ts";

export type NotificationsDb = DatabaseOf<typeof PrismaClient>;
export type NotificationsTransaction = TransactionOf<NotificationsDb>;

export default wireSubgraph({ client: PrismaClient, resolvers, policies, env: notificationsEnv }, (parts) => {
  const { vars, db, broker, events, identity, log, metrics, onStop } = parts;
  const live = createLiveNotifications({ broker, log, metrics });
  onStop("live notifications", () => live.stop());
  const mailer = createMailer({
    pool: db.pool,
    smtpUrl: vars.SMTP_URL,
    from: vars.MAIL_FROM,
    maxAttempts: vars.MAIL_MAX_ATTEMPTS,
    timeoutMs: vars.MAIL_TIMEOUT_MS,
    pollIntervalMs: events.pollIntervalMs,
    log,
    metrics,
  });
  onStop("mailer", () => mailer.stop());
  if (!mailer.sending) log.info("SMTP_URL is not set: mails are written to the log, not sent");
  const created = metrics.counter("notifications_created_total", "Notifications written, by kind", ["kind"] as const);
  const notifier = createNotifier({
    created(notification) {
      created.inc({ kind: notification.kind });
      live.publish(notification);
    },
    mailQueued: mailer.wake,
  });
  const consumer = createEventConsumer<NotificationsTransaction>({
    name: "notifications",
    sources: Object.fromEntries(EVENT_SOURCES.map((source) => [source, parts.upstream(source)])),
    pool: db.pool,
    transaction: parts.transaction,
    handle: notifier.handle,
    broker,
    identity,
    pollIntervalMs: events.pollIntervalMs,
    log,
    metrics,
  });
  metrics.gauge(
    "event_consumer_lag_events",
    "Events of each source not yet applied here (as of the last answer from the source or the broker)",
    ["source"] as const,
    (set) => {
      for (const source of EVENT_SOURCES) set({ source }, consumer.lag(source).events);
    },
  );
  const notifications = createNotificationList(db);
  return {
    context: ({ viewer }): NotificationsContext => ({ viewer, db, notifications, live }),
    readiness: () => ({
      events: { consuming: consumer.transport(), ...(broker ? { broker: broker.status() } : {}) },
      mail: mailer.sending ? "smtp" : "log",
    }),
    // Once it listens: the sources verify its reads with the keys it publishes there.
    listening({ onStop: stopFirst }) {
      consumer.start();
      stopFirst("event consumer", () => consumer.stop());
    },
    expose: () => ({ consumer, mailer }),
  };
});
