// The gateway hears every domain event as it happens (its entity cache evicts what an event
// names): through the broker with NATS_URL (a core subscription, each replica hears all), else
// by reading the producers' event feeds (GET /internal/events, signed with the gateway's own
// service key, which it publishes at /.well-known/service-jwks.json beside its assertion keys;
// the producers declare the gateway as a caller of their feed). Nothing is kept: each replica
// starts at "now", and whenever events may have been missed it says so (onGap).
import type { FastifyInstance } from "fastify";
import { createUpstream, type Logger, type Metrics, type Upstream } from "@pooya/runtime";
import { SERVICE_KEYS_PATH } from "@pooya/identity";
import { subscribeToLiveEvents, type EventEnvelope, type LiveEventsStatus } from "@pooya/events/live";
import type { GatewaySettings } from "./settings.ts";
import { subgraphsOf } from "./supergraph.ts";

/** The services whose events the gateway hears (each declares the gateway a caller of its feed). */
export const EVENT_SOURCES = ["users", "courses", "attendance", "food"] as const;

export interface LiveEventsHandle {
  status(): LiveEventsStatus;
  /** Ends the subscription and closes the connections to the feeds. */
  stop(): Promise<void>;
}

/** GET /.well-known/service-jwks.json: the public keys of the gateway's service tokens (what producers verify its feed reads with). */
export function serveServiceKeys(app: FastifyInstance, settings: Pick<GatewaySettings, "events">): void {
  const identity = settings.events?.identity;
  if (!identity) return;
  app.get(SERVICE_KEYS_PATH, async (_request, reply) => {
    void reply.header("cache-control", "public, max-age=300");
    return identity.jwks;
  });
}

/**
 * Subscribes to every event of EVENT_SOURCES (or `settings.events.sources`). `onEvents` gets them
 * as they arrive; `onGap(source?)` whenever some may have been missed — when a transport or a feed
 * becomes live, the first time included, and after every outage: drop what was derived from
 * events (a cache) then. Metrics: live_events_connected, live_events_received_total,
 * live_events_gaps_total.
 */
export function startLiveEvents(
  settings: Pick<GatewaySettings, "supergraphSdl" | "subgraphUrls" | "calls" | "events">,
  deps: {
    log: Logger;
    metrics?: Metrics;
    onEvents: (events: EventEnvelope[]) => void | Promise<void>;
    onGap: (source?: string) => void;
  },
): LiveEventsHandle {
  const events = settings.events;
  if (!events) throw new Error("the gateway has no event settings (GatewaySettings.events)");
  const { log, metrics } = deps;
  const sources = [...(events.sources ?? EVENT_SOURCES)];
  const received = metrics?.counter("live_events_received_total", "Domain events heard live, by source", [
    "source",
  ] as const);
  const gaps = metrics?.counter(
    "live_events_gaps_total",
    "Times events may have been missed (a transport or feed became live: at start and after an outage), by source (`*`: every source, the broker)",
    ["source"] as const,
  );

  // Without a broker, a connection of its own to each producer's feed: held-open reads neither
  // take the sockets of GraphQL calls nor count in their durations and breaker.
  const feeds: Record<string, Upstream> = {};
  if (!events.natsUrl) {
    const known = new Map(subgraphsOf(settings.supergraphSdl).map((s) => [s.name, s.url]));
    for (const source of sources) {
      const graphqlUrl = settings.subgraphUrls[source] ?? known.get(source);
      if (!graphqlUrl) {
        log.warn({ source }, "live events: no such subgraph in the supergraph; its events are not heard");
        continue;
      }
      const baseUrl = graphqlUrl.replace(/\/graphql\/?$/, "");
      feeds[source] = createUpstream({ ...settings.calls(source, baseUrl), log });
    }
  }

  const subscription = subscribeToLiveEvents({
    service: "gateway",
    natsUrl: events.natsUrl,
    subjectPrefix: events.subjectPrefix,
    sources,
    feeds,
    identity: events.identity,
    pollIntervalMs: events.pollIntervalMs,
    log,
    onEvents(batch) {
      if (received) for (const event of batch) received.inc({ source: event.source });
      return deps.onEvents(batch);
    },
    onGap(source) {
      gaps?.inc({ source: source ?? "*" });
      deps.onGap(source);
    },
  });

  metrics?.gauge(
    "live_events_connected",
    "1 while domain events are heard live: from the broker (transport nats, source `*`) or from each producer's feed (transport feed)",
    ["transport", "source"] as const,
    (set) => {
      const status = subscription.status();
      if (status.transport === "nats") set({ transport: "nats", source: "*" }, status.live ? 1 : 0);
      for (const [source, feed] of Object.entries(status.sources ?? {}))
        set({ transport: "feed", source }, feed.live ? 1 : 0);
    },
  );

  return {
    status: () => subscription.status(),
    async stop() {
      await subscription.stop();
      await Promise.all(Object.values(feeds).map((upstream) => upstream.close()));
    },
  };
}
