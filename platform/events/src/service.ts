// The events side of a service: its variables and settings, its broker connection (with
// NATS_URL), and its producing side (the outbox served as a feed and relayed to the broker).
import type { FastifyInstance } from "fastify";
import type pg from "pg";
import type { Logger } from "@pooya/runtime";
import type { Metrics } from "@pooya/runtime";
import { connectBroker, type Broker } from "./broker.ts";
import type { EventSettings } from "./event-settings.ts";
import type { SqlRunner } from "./envelope.ts";
import { registerEventFeed } from "./feed.ts";
import type { Outbox } from "./outbox.ts";
import { relayMetrics, startRelay } from "./relay.ts";

export { eventSettings, eventVariables, type EventSettings } from "./event-settings.ts";

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
