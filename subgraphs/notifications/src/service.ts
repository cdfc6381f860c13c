// Wires the notifications subgraph together; its descriptor (index.ts) starts it from checked variables.
import { fileURLToPath } from "node:url";
import {
  TRANSACTION_OPTIONS, applyMigrations, brokerFor, callSettings, createEventConsumer, createMetrics, createUpstream, eventSettings, loadServiceIdentity, serveSubgraph, subgraphSettings,
  type EnvValues, type Logger,
} from "@pooya/platform";
import { connectNotificationsDb, type NotificationsTransaction } from "./db.ts";
import { EVENT_SOURCES, createNotifier } from "./notifier.ts";
import { createMailer } from "./mailer.ts";
import { createLiveNotifications } from "./live.ts";
import { createNotificationList } from "./notification-list.ts";
import type { NotificationsContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import type { NotificationsEnv } from "./env.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/notifications/migrations", import.meta.url));

export async function startNotificationsService(vars: EnvValues<NotificationsEnv>, log: Logger) {
  const settings = subgraphSettings("notifications", vars);
  await applyMigrations(settings.databaseUrl, MIGRATIONS_DIR, log);
  const db = connectNotificationsDb(settings.databaseUrl, { poolSize: settings.databasePoolSize, log });
  const metrics = createMetrics("notifications");
  const identity = await loadServiceIdentity("notifications", vars);
  const events = eventSettings(vars);
  const broker = brokerFor("notifications", events, log);
  const urls = { users: vars.USERS_URL, courses: vars.COURSES_URL, attendance: vars.ATTENDANCE_URL, food: vars.FOOD_URL };
  const sources = Object.fromEntries(EVENT_SOURCES.map((source) => [source, createUpstream({ ...callSettings(vars, source, urls[source]), log, metrics })]));

  const live = createLiveNotifications({ broker, log, metrics });
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
    sources,
    pool: db.pool,
    transaction: (work) => db.prisma.$transaction(work, TRANSACTION_OPTIONS),
    handle: notifier.handle,
    broker,
    identity,
    pollIntervalMs: events.pollIntervalMs,
    log,
    metrics,
  });
  metrics.gauge("event_consumer_lag_events", "Events of each source not yet applied here (as of the last answer from the source or the broker)", ["source"] as const, (set) => {
    for (const source of EVENT_SOURCES) set({ source }, consumer.lag(source).events);
  });
  const notifications = createNotificationList(db);

  const service = await serveSubgraph<NotificationsContext>({
    name: "notifications",
    settings,
    log,
    metrics,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    identity,
    subscriptions: true,
    createContext: (viewer) => ({ viewer, db, notifications, live }),
    readinessDetails: () => ({ events: { consuming: consumer.transport(), ...(broker ? { broker: broker.status() } : {}) }, mail: mailer.sending ? "smtp" : "log" }),
    async beforeStop() {
      await consumer.stop();
    },
    async afterStop() {
      live.stop();
      await mailer.stop();
      await Promise.all([...Object.values(sources).map((upstream) => upstream.close()), broker?.close()]);
    },
  });
  // Once it listens: the sources verify its reads with the keys it publishes there.
  consumer.start();
  return { ...service, consumer, mailer };
}

export type NotificationsService = Awaited<ReturnType<typeof startNotificationsService>>;
