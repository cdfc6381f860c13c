// Domain events between services: transactional outboxes, a feed per producer, NATS JetStream
// when NATS_URL is set, inboxes on the consuming side. docs/events.md describes the contract.
import type { FastifyInstance } from "fastify";
import type pg from "pg";
import { env } from "@pooya/runtime";
import type { Logger } from "@pooya/runtime";
import type { Metrics } from "@pooya/runtime";
import { connectBroker, type Broker } from "./broker.ts";
import type { SqlRunner } from "./envelope.ts";
import { registerEventFeed } from "./feed.ts";
import type { Outbox } from "./outbox.ts";
import { relayMetrics, startRelay } from "./relay.ts";

export * from "./envelope.ts";
export * from "./signal.ts";
export * from "./outbox.ts";
export * from "./inbox.ts";
export * from "./feed.ts";
export * from "./broker.ts";
export * from "./relay.ts";
export * from "./consumer.ts";
export * from "./catalog.ts";
export * from "./sql.ts";

/** The variables of every service that produces or consumes events. */
export function eventVariables() {
  return {
    NATS_URL: env
      .natsUrls()
      .optional()
      .describe(
        "NATS with JetStream (nats://host:4222): events go through the broker; unset, services read each other's event feeds over HTTP (the zero-setup mode)",
      ),
    EVENTS_SUBJECT_PREFIX: env
      .matching(/^[A-Za-z0-9_-]{1,40}$/, "1 to 40 letters, digits, _ or -")
      .default("pooya")
      .describe(
        "first token of event subjects (`<prefix>.<service>.<EventType>`) and of the stream's name (`<PREFIX>_EVENTS`)",
      ),
    EVENTS_POLL_INTERVAL_MS: env
      .integer({ min: 10, max: 600_000 })
      .default(1_000)
      .describe(
        "how often a held-open feed request, and the outbox relay, look for events committed by other replicas (commits in the same process wake them at once)",
      ),
  };
}

export interface EventSettings {
  natsUrl?: string;
  subjectPrefix: string;
  pollIntervalMs: number;
}

export function eventSettings(vars: Record<string, unknown>): EventSettings {
  return {
    natsUrl: vars.NATS_URL as string | undefined,
    subjectPrefix: vars.EVENTS_SUBJECT_PREFIX as string,
    pollIntervalMs: vars.EVENTS_POLL_INTERVAL_MS as number,
  };
}

/** The broker connection when NATS_URL is set (connecting in the background), else undefined. */
export function brokerFor(service: string, settings: EventSettings, log: Logger): Broker | undefined {
  return settings.natsUrl
    ? connectBroker({ url: settings.natsUrl, subjectPrefix: settings.subjectPrefix, service, log })
    : undefined;
}

/**
 * The producing side of a service: its outbox served as a feed and, with a broker, relayed to
 * it. `routes` goes into the service's HTTP routes; `closeFeed` before the HTTP drain (held-open
 * reads answer at once); `stop` after it (the relay publishes what the drained requests wrote).
 */
export function startEventProducer(options: {
  service: string;
  outbox: Outbox<SqlRunner>;
  pool: pg.Pool;
  broker?: Broker;
  settings: EventSettings;
  log: Logger;
  metrics?: Metrics;
}) {
  let feed: { close(): void } | undefined;
  const metrics = options.metrics ? relayMetrics(options.metrics) : undefined;
  const relay = options.broker
    ? startRelay({
        outbox: options.outbox,
        pool: options.pool,
        broker: options.broker,
        pollIntervalMs: options.settings.pollIntervalMs,
        log: options.log,
        metrics,
      })
    : undefined;
  return {
    routes(app: FastifyInstance) {
      feed = registerEventFeed(app, { outbox: options.outbox, pollIntervalMs: options.settings.pollIntervalMs });
    },
    closeFeed: () => feed?.close(),
    /** For /readyz (reported, not required: events wait in the outbox while the broker is away). */
    status: () =>
      options.broker ? { transport: "jetstream", broker: options.broker.status() } : { transport: "feed" },
    async stop() {
      await relay?.stop();
    },
  };
}
