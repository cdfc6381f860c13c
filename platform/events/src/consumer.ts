// A service consuming other services' events: one interface, two transports. Without a broker
// it reads each source's feed (held-open requests, so events arrive as they commit); with one
// it reads each source through a durable JetStream consumer, and falls back to the feeds for
// as long as the broker is unreachable. Either way every event goes through the same apply
// code: once per event id (the inbox), in the consumer's own transaction, and the broker's
// message is acknowledged only after that transaction committed.
import type { Logger } from "@pooya/runtime";
import type { Metrics } from "@pooya/runtime";
import type { Upstream } from "@pooya/runtime";
import type { ServiceIdentity } from "@pooya/identity";
import type { Broker } from "./broker.ts";
import type { EventEnvelope, SqlRunner } from "./envelope.ts";
import { createFeedConsumer, type FeedConsumer } from "./feed.ts";
import { applyOnce, readCursor } from "./inbox.ts";
import type { PoolLike } from "./outbox.ts";

/** Thrown by a handler for an event it can never apply (a payload that breaks its type's schema):
 * the event is recorded as seen and skipped, with an error in the log, instead of blocking its source. */
export class UnprocessableEvent extends Error {}

/** Runs `fn` after the transaction that applied the event committed (e.g. push it to live subscribers). */
export type AfterCommit = (fn: () => void) => void;

export interface EventConsumerOptions<Tx extends SqlRunner> {
  /** The consuming service (durable consumer names). */
  name: string;
  /** Each source it reads, and the connection to that source's feed. */
  sources: Record<string, Upstream>;
  /** The consumer's pool, for reading its cursors. */
  pool: PoolLike;
  transaction: <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;
  /** Applies one event inside the consumer's transaction. Unknown types: do nothing. */
  handle: (tx: Tx, event: EventEnvelope, afterCommit: AfterCommit) => Promise<void>;
  broker?: Broker;
  /** The consuming service's identity: it signs its feed reads. */
  identity: ServiceIdentity;
  pollIntervalMs: number;
  log: Logger;
  metrics?: Metrics;
}

/**
 * How long one of a consumer's transactions keeps applying events before it commits and the
 * next begins. A transaction holds one of the service's database connections (embedded Postgres
 * has one only) that its requests wait for, and a stop waits for it: a page of 500 events in
 * one transaction took 1–9 s on embedded Postgres, and the service's queries timed out meanwhile.
 */
export const TRANSACTION_BUDGET_MS = 100;

export function createEventConsumer<Tx extends SqlRunner>(options: EventConsumerOptions<Tx>) {
  const { log, broker } = options;
  const consumed = options.metrics?.counter(
    "events_consumed_total",
    "Events received, by source and outcome: applied, duplicate (seen before), rejected (unprocessable, skipped)",
    ["source", "outcome"] as const,
  );

  // One transaction at a time per source: a held-open read and a request's catch-up may bring
  // the same events at once, and two transactions writing the same inbox and replica rows in
  // turn deadlock (Postgres then aborts one; seen after a restart with a backlog).
  const applying = new Map<string, Promise<unknown>>();
  function oneAtATime<T>(source: string, work: () => Promise<T>): Promise<T> {
    const turn = (applying.get(source) ?? Promise.resolve()).then(work);
    const settled = turn.catch(() => undefined);
    applying.set(source, settled);
    void settled.then(() => applying.get(source) === settled && applying.delete(source));
    return turn;
  }

  /** Applies events of one source in order (resolves with how many were new), in as many transactions as the budget asks. */
  async function apply(events: EventEnvelope[]): Promise<number> {
    let fresh = 0;
    for (let start = 0; start < events.length;) {
      const batch = start === 0 ? events : events.slice(start);
      const done = await oneAtATime(batch[0]!.source, () => applyInOneTransaction(batch));
      fresh += done.fresh;
      start += done.count;
    }
    return fresh;
  }

  /**
   * Applies the first of `events` in one transaction: as many as it gets through in
   * TRANSACTION_BUDGET_MS (one at least). Resolves with how many it took and how many were new.
   * When an event cannot be applied, the events up to it are applied one by one.
   */
  async function applyInOneTransaction(events: EventEnvelope[]): Promise<{ count: number; fresh: number }> {
    let after: (() => void)[] = [];
    let fresh = 0;
    let count = 0;
    try {
      await options.transaction(async (tx) => {
        after = [];
        fresh = 0;
        count = 0;
        const began = performance.now();
        for (const event of events) {
          if (count > 0 && performance.now() - began >= TRANSACTION_BUDGET_MS) break;
          const queued: (() => void)[] = [];
          if (await applyOnce(tx, event, () => options.handle(tx, event, (fn) => queued.push(fn)))) {
            fresh += 1;
            after.push(...queued);
          }
          count += 1;
        }
      });
    } catch (error) {
      if (!(error instanceof UnprocessableEvent)) throw error;
      if (count > 0) {
        // events[count] is the one that failed; the ones before it were rolled back with it.
        let applied = 0;
        for (const event of events.slice(0, count + 1)) applied += (await applyInOneTransaction([event])).fresh;
        return { count: count + 1, fresh: applied };
      }
      const event = events[0]!;
      log.error(
        { eventId: event.id, source: event.source, type: event.type, version: event.version, reason: error.message },
        "unprocessable event skipped",
      );
      await options.transaction((tx) => applyOnce(tx, event, async () => undefined));
      consumed?.inc({ source: event.source, outcome: "rejected" });
      return { count: 1, fresh: 0 };
    }
    consumed?.inc({ source: events[0]!.source, outcome: "applied" }, fresh);
    if (count > fresh) consumed?.inc({ source: events[0]!.source, outcome: "duplicate" }, count - fresh);
    for (const fn of after) {
      try {
        fn();
      } catch (error) {
        log.warn({ reason: (error as Error).message }, "after-commit action failed");
      }
    }
    return { count, fresh };
  }

  const feeds = new Map<string, FeedConsumer>();
  for (const [source, upstream] of Object.entries(options.sources)) {
    feeds.set(
      source,
      createFeedConsumer({
        source,
        upstream,
        identity: options.identity,
        readCursor: () => readCursor(options.pool, source),
        apply,
        pollIntervalMs: options.pollIntervalMs,
        log,
      }),
    );
  }

  let brokerConsumers: { stop(): Promise<void> }[] = [];
  let unsubscribe: (() => void) | undefined;
  let fallbackTimer: NodeJS.Timeout | undefined;
  // The broker was unreachable this long: read the feeds meanwhile (JetStream redelivers what
  // they carried; the inbox drops it).
  const FALLBACK_AFTER_MS = 2_000;

  /** Stops receiving from the broker; `stopFeeds` the feed reads (stopPolling lets a held-open read end, stop cancels it). */
  async function halt(stopFeeds: (feed: FeedConsumer) => Promise<void>) {
    clearTimeout(fallbackTimer);
    unsubscribe?.();
    unsubscribe = undefined;
    const stopping = brokerConsumers.map((c) => c.stop());
    brokerConsumers = [];
    await Promise.all([...stopping, ...[...feeds.values()].map(stopFeeds)]);
  }

  /** Stops receiving in the background (on-demand catch-ups still work). */
  const pause = () => halt((feed) => feed.stopPolling());

  function start() {
    if (!broker) {
      for (const feed of feeds.values()) feed.startPolling();
      return;
    }
    if (unsubscribe) return;
    for (const [source, feed] of feeds) {
      brokerConsumers.push(
        broker.consume(`${options.name}-${source}`, `${broker.subjectPrefix}.${source}.>`, async (events, delivery) => {
          await apply(events);
          feed.noteApplied(
            events.reduce((max, e) => (BigInt(e.sequence) > max ? BigInt(e.sequence) : max), 0n),
            delivery.pending,
          );
        }),
      );
    }
    const onChange = (connected: boolean) => {
      clearTimeout(fallbackTimer);
      if (connected) {
        for (const feed of feeds.values()) void feed.stopPolling();
        return;
      }
      fallbackTimer = setTimeout(() => {
        if (broker.connected) return;
        log.warn({ sources: [...feeds.keys()] }, "broker unreachable: reading the event feeds until it is back");
        for (const feed of feeds.values()) feed.startPolling();
      }, FALLBACK_AFTER_MS);
      fallbackTimer.unref();
    };
    unsubscribe = broker.onConnectionChange(onChange);
    if (!broker.connected) onChange(false);
  }

  return {
    /** A source's feed: on-demand catch-up for read-your-writes, other internal calls. */
    feed(source: string): FeedConsumer {
      const feed = feeds.get(source);
      if (!feed) throw new Error(`${options.name} does not consume ${source}`);
      return feed;
    },
    apply,
    /** How the events arrive now. */
    transport: () => (broker ? (broker.connected ? "jetstream" : "feed (broker unreachable)") : "feed"),
    /** Receives in the background: JetStream with a broker, else held-open feed reads. */
    start,
    pause,
    /** Stops everything at once: held-open reads are cancelled, the broker's messages not acknowledged are delivered again later. */
    stop: () => halt((feed) => feed.stop()),
    lag: (source: string) => feeds.get(source)!.lag(),
  };
}

export type EventConsumer = ReturnType<typeof createEventConsumer>;
