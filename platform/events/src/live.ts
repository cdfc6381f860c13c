// Every event as it happens, nothing kept: for a process that reacts to events but holds no
// durable state about them (the gateway's entity cache evicts what an event names). Each
// subscriber gets every event (no queue group, no durable consumer: each gateway replica hears
// all of them) from the moment it subscribes. With NATS_URL it is a core NATS subscription to
// `<prefix>.>` (what the outbox relays publish to JetStream reaches core subscribers too);
// without, each source's feed is read from its head in held-open reads, with a cursor in memory.
// Whenever events may have been missed — the broker or a feed was unreachable, or the
// subscription has only just begun — `onGap` says so: whoever holds state derived from events
// (a cache) drops it then, and nothing is skipped silently.
import { connect, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger, Upstream } from "@pooya/runtime";
import type { ServiceIdentity } from "@pooya/identity";
import type { EventEnvelope, EventPage } from "./envelope.ts";
import { EVENT_FEED_PATH, createFeedConsumer, type FeedConsumer } from "./feed.ts";

// What a live subscriber needs besides, so that it can import this file alone (the gateway's
// bundle then carries no database, outbox or JetStream code).
export type { EventEnvelope } from "./envelope.ts";
export { EVENT_FEED_PATH } from "./feed.ts";
export { eventSettings, eventVariables, type EventSettings } from "./event-settings.ts";

/** The largest sequence a feed takes: a read after it returns no events, only the head. */
const HEAD_ONLY = "9223372036854775807";
const NATS_CONNECT_TIMEOUT_MS = 5_000;
/** A round trip to the server (the subscription is in place once it answers). */
const NATS_FLUSH_TIMEOUT_MS = 5_000;

export interface LiveEventsOptions {
  /** Who subscribes: the NATS connection's name, and the `iss` of its feed reads. */
  service: string;
  /** NATS (comma-separated servers): a core subscription; unset: the sources' feeds. */
  natsUrl?: string;
  /** First token of event subjects (EVENTS_SUBJECT_PREFIX). */
  subjectPrefix: string;
  /** Whose events are passed on (the producing services); unset: every source's (with a broker),
   * the sources of `feeds` (without). */
  sources?: readonly string[];
  /** Without a broker: each source's feed, and the connection to it. */
  feeds?: Record<string, Upstream>;
  /** Signs the feed reads (required without a broker). */
  identity?: ServiceIdentity;
  /** Pause between feed reads when they cannot be held open; the base of the backoff after a failed read. */
  pollIntervalMs: number;
  log: Logger;
  /** Events as they arrive: in order per source; one call at a time. A throw counts as a gap. */
  onEvents: (events: EventEnvelope[]) => void | Promise<void>;
  /**
   * Events may have been missed: from `source` (a feed), or from any source (the broker). Called
   * each time a transport or feed becomes live — the first time too (anything derived before it
   * was live may be stale) and after every outage. Events after the call are delivered.
   */
  onGap: (source?: string) => void;
}

export interface LiveEventsStatus {
  transport: "nats" | "feed";
  /** Every event is being heard (the broker connection, or every source's feed). */
  live: boolean;
  /** With NATS: the connection. */
  broker?: { connected: boolean; server?: string };
  /** Without NATS: each source's feed (live, and events it has that were not passed on yet). */
  sources?: Record<string, { live: boolean; behind: number }>;
}

export interface LiveEvents {
  status(): LiveEventsStatus;
  /** Ends the subscription (held-open reads are cancelled); no callback runs after it resolves. */
  stop(): Promise<void>;
}

const isEnvelope = (value: unknown): value is EventEnvelope => {
  const event = value as Partial<EventEnvelope> | null;
  return (
    typeof event === "object" &&
    event !== null &&
    typeof event.id === "string" &&
    typeof event.type === "string" &&
    typeof event.source === "string" &&
    typeof event.sequence === "string" &&
    typeof event.payload === "object"
  );
};

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });

export function subscribeToLiveEvents(options: LiveEventsOptions): LiveEvents {
  const { log } = options;
  let stopped = false;
  // One onEvents at a time, in arrival order.
  let delivering: Promise<void> = Promise.resolve();
  const deliver = (events: EventEnvelope[], source?: string): Promise<void> => {
    const turn = delivering.then(async () => {
      if (stopped) return;
      try {
        await options.onEvents(events);
      } catch (error) {
        log.warn(
          { source, events: events.length, reason: (error as Error).message },
          "live events not handled: reported as a gap",
        );
        gap(source);
      }
    });
    delivering = turn;
    return turn;
  };
  const gap = (source?: string) => {
    if (stopped) return;
    try {
      options.onGap(source);
    } catch (error) {
      log.error({ source, reason: (error as Error).message }, "onGap failed");
    }
  };
  return options.natsUrl ? natsSubscription(options.natsUrl) : feedSubscription();

  function natsSubscription(url: string): LiveEvents {
    const subject = `${options.subjectPrefix}.>`;
    const wanted = options.sources ? new Set(options.sources) : undefined;
    let connection: NatsConnection | undefined;
    let subscription: Subscription | undefined;
    let live = false;
    const wake = new AbortController();
    let batch: EventEnvelope[] = [];

    const onMessage = (error: Error | null, message: Msg) => {
      if (error) {
        log.warn({ subject, reason: error.message }, "live event subscription error");
        return;
      }
      let event: unknown;
      try {
        event = message.json();
      } catch {
        event = undefined;
      }
      if (!isEnvelope(event)) {
        log.warn({ subject: message.subject }, "not an event envelope; ignored");
        return;
      }
      if (wanted && !wanted.has(event.source)) return;
      // What arrives in one read of the socket is passed on together.
      if (batch.length === 0)
        setImmediate(() => {
          const events = batch;
          batch = [];
          void deliver(events);
        });
      batch.push(event);
    };

    /** The subscription is in place on the server (a round trip after it): from now on nothing is missed. */
    async function becameLive(nc: NatsConnection) {
      await withTimeout(nc.flush(), NATS_FLUSH_TIMEOUT_MS, "NATS flush");
      if (stopped || live || nc.isClosed()) return;
      live = true;
      log.info({ server: nc.getServer(), subject }, "live events: subscribed to the broker");
      gap();
    }

    async function watch(nc: NatsConnection) {
      for await (const status of nc.status()) {
        if (stopped) return;
        if (status.type === "disconnect") {
          if (live) log.warn({ server: status.server }, "live events: broker connection lost; reconnecting");
          live = false;
        } else if (status.type === "reconnect") {
          // The client subscribed again as it reconnected; events published meanwhile are gone.
          await becameLive(nc).catch((error: Error) =>
            log.warn({ reason: error.message }, "live events: broker back but not answering"),
          );
        }
      }
    }

    const running = (async () => {
      for (let attempt = 0; !stopped; attempt += 1) {
        try {
          const nc = await connect({
            servers: url.split(","),
            name: options.service,
            maxReconnectAttempts: -1,
            reconnectTimeWait: 500,
            timeout: NATS_CONNECT_TIMEOUT_MS,
            pingInterval: 10_000,
            maxPingOut: 3,
          });
          if (stopped) {
            await nc.close();
            return;
          }
          connection = nc;
          subscription = nc.subscribe(subject, { callback: onMessage });
          const watching = watch(nc);
          await becameLive(nc).catch((error: Error) =>
            log.warn({ reason: error.message }, "live events: broker connected but not answering"),
          );
          attempt = 0;
          await Promise.all([nc.closed(), watching]);
          // Closed for good (not by stop): connect again.
          live = false;
          connection = undefined;
        } catch (error) {
          if (attempt === 0)
            log.warn(
              { url, reason: (error as Error).message },
              "live events: broker not reachable; retrying in the background",
            );
        }
        if (!stopped)
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, Math.min(5_000, 250 * 2 ** Math.min(attempt, 5)));
            wake.signal.addEventListener("abort", () => {
              clearTimeout(timer);
              resolve(undefined);
            });
          });
      }
    })();

    return {
      status: () => ({
        transport: "nats",
        live,
        broker: {
          connected: live,
          ...(connection && !connection.isClosed() ? { server: connection.getServer() } : {}),
        },
      }),
      async stop() {
        stopped = true;
        wake.abort();
        subscription?.unsubscribe();
        if (connection && !connection.isClosed()) await connection.close().catch(() => undefined);
        await running.catch(() => undefined);
        await delivering;
      },
    };
  }

  function feedSubscription(): LiveEvents {
    const { identity } = options;
    if (!identity) throw new Error("reading event feeds needs a service identity (it signs the reads)");
    const feeds = new Map<string, { consumer: FeedConsumer; live: boolean }>();
    const wanted = options.sources ? new Set(options.sources) : undefined;
    for (const [source, upstream] of Object.entries(options.feeds ?? {})) {
      if (wanted && !wanted.has(source)) continue;
      // Where this subscriber stands in the source's outbox; unknown until the first read finds the head.
      let cursor: bigint | undefined;
      const setLive = (live: boolean) => {
        const feed = feeds.get(source)!;
        if (feed.live === live) return;
        feed.live = live;
        if (live) {
          log.info({ source, cursor: String(cursor) }, "live events: reading the event feed");
          gap(source);
        }
      };
      const consumer: FeedConsumer = createFeedConsumer({
        source,
        upstream,
        identity,
        async readCursor() {
          if (cursor === undefined) {
            // Start at "now": the newest event there is now, none older passed on.
            const page = await consumer.call<EventPage>(`${EVENT_FEED_PATH}?after=${HEAD_ONLY}&limit=1&wait=0`, {
              idempotent: true,
            });
            cursor = BigInt(page.head ?? "0");
            setLive(true);
          }
          return cursor;
        },
        async apply(events) {
          await deliver(events, source);
          cursor = BigInt(events.at(-1)!.sequence);
          return events.length;
        },
        pollIntervalMs: options.pollIntervalMs,
        log,
        onUnreadable: () => setLive(false),
        onReadableAgain: () => setLive(true),
      });
      feeds.set(source, { consumer, live: false });
    }
    for (const { consumer } of feeds.values()) consumer.startPolling();
    return {
      status() {
        const sources = Object.fromEntries(
          [...feeds].map(([source, feed]) => [source, { live: feed.live, behind: feed.consumer.lag().events }]),
        );
        return { transport: "feed", live: [...feeds.values()].every((f) => f.live), sources };
      },
      async stop() {
        stopped = true;
        await Promise.all([...feeds.values()].map((feed) => feed.consumer.stop()));
        await delivering;
      },
    };
  }
}
