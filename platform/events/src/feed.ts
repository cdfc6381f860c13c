// Events over HTTP: every producer serves its outbox as a feed (GET /internal/events?after=N),
// and a consumer reads a source's feed from its cursor. Without a broker this is the transport:
// the consumer holds a request open (long poll) that the producer answers as soon as events
// commit. With a broker it is the catch-up path: a request that must see everything committed
// before it started (read-your-writes) reads the feed on demand, and the feed carries events
// while the broker is unreachable.
import { setTimeout as delay } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { HttpError } from "@pooya/runtime";
import { createServiceClient, type ServiceIdentity } from "@pooya/identity";
import type { Logger } from "@pooya/runtime";
import type { Upstream } from "@pooya/runtime";
import type { EventEnvelope, EventPage, SqlRunner } from "./envelope.ts";
import type { Outbox } from "./outbox.ts";

export const EVENT_FEED_PATH = "/internal/events";
export const MAX_EVENT_PAGE = 500;
/** The longest a feed request is held open waiting for events. */
export const MAX_FEED_WAIT_MS = 25_000;

/**
 * Serves the service's outbox to other services. close() answers held-open reads at once
 * (shutdown). An internal route: the service's guard lets only its declared readers in.
 */
export function registerEventFeed(
  app: FastifyInstance,
  options: { outbox: Outbox<SqlRunner>; pollIntervalMs: number },
) {
  const { outbox } = options;
  let closing = false;
  app.get(EVENT_FEED_PATH, async (request): Promise<EventPage> => {
    const query = request.query as { after?: string; limit?: string; wait?: string };
    const after = query.after ?? "0";
    const limit = Number(query.limit ?? MAX_EVENT_PAGE);
    const wait = Number(query.wait ?? 0);
    if (
      !/^\d{1,19}$/.test(after) ||
      !Number.isInteger(limit) ||
      limit < 1 ||
      limit > MAX_EVENT_PAGE ||
      !Number.isInteger(wait) ||
      wait < 0 ||
      wait > MAX_FEED_WAIT_MS
    ) {
      throw new HttpError(
        400,
        `after must be a sequence number, limit 1..${MAX_EVENT_PAGE}, wait 0..${MAX_FEED_WAIT_MS} ms`,
      );
    }
    const deadline = Date.now() + wait;
    let seen = outbox.committed.version;
    let page = await outbox.read(BigInt(after), limit);
    // Nothing new: wait for a commit in this process, or look again every poll interval (a
    // commit in another replica of this service), until the wait is over or the service stops.
    while (page.events.length === 0 && !closing && Date.now() < deadline) {
      await outbox.committed.wait(Math.min(deadline - Date.now(), options.pollIntervalMs), seen);
      seen = outbox.committed.version;
      page = await outbox.read(BigInt(after), limit);
    }
    return page;
  });
  return {
    close() {
      closing = true;
      outbox.committed.notify();
    },
  };
}

export interface FeedConsumerOptions {
  /** The source service; its feed is read through `upstream`. */
  source: string;
  upstream: Upstream;
  /** The reading service: it signs each read. */
  identity: ServiceIdentity;
  /** Where this consumer stands in the source's outbox. */
  readCursor: () => Promise<bigint>;
  /** Applies a page of events (each once) and moves the cursor past it; resolves with how many were new. */
  apply: (events: EventEnvelope[]) => Promise<number>;
  /** Pause between reads when a read cannot be held open (calls to the source time out too soon). */
  pollIntervalMs: number;
  log: Logger;
  /** The continuous read failed after reads that worked (or at its first read). */
  onUnreadable?: (error: Error) => void;
  /** A continuous read worked after one or more failed (events may have waited meanwhile). */
  onReadableAgain?: () => void;
}

/** How a bounded catch-up ended (see tryCatchUp). */
export type CatchUpOutcome = "fresh" | "behind" | "unreachable";

/** Waits `ms`, or less when `signal` aborts: stopping never waits out a backoff. */
const sleep = (ms: number, signal: AbortSignal) => delay(ms, undefined, { signal, ref: false }).catch(() => undefined);

/** One consumer of one source's feed: on demand (numbered catch-ups) and, when running, a long poll. */
export function createFeedConsumer(options: FeedConsumerOptions) {
  const call = createServiceClient({ identity: options.identity, upstream: options.upstream });
  // How long the source may hold a read open. The read's deadline is that plus the usual call
  // deadline: an answer a loaded source sends a little late is not a timeout (timeouts count
  // towards opening the breaker, and the reads would then back off for seconds).
  const longPollMs = Math.min(MAX_FEED_WAIT_MS, options.upstream.timeoutMs - 500);
  // On-demand pulls are numbered as they start. A request that needs fresh data remembers the
  // number at its start; any pull that started later has seen everything committed before it.
  let pullsStarted = 0;
  let lastCompletedPull = 0;
  let inFlight: { number: number; done: Promise<number> } | undefined;
  let polling: Promise<void> | undefined;
  let pollAbort: AbortController | undefined;
  // Cancels held-open reads at shutdown (stopping the poll otherwise lets the current read end).
  const shutdown = new AbortController();
  // For the lag: the newest sequence the source reported, the last one applied here, and since
  // when this consumer is known to hold everything (null: it is not, or not known to be).
  let sourceHead = 0n;
  let appliedUpTo = 0n;
  let inSyncSince: number | null = null;
  let behindSince = Date.now();

  /** Reads the feed to its end and applies what is new (resolves with how many were new); the first read may be held open `waitMs`. */
  async function pull(waitMs: number): Promise<number> {
    let after = await options.readCursor();
    if (after > appliedUpTo) appliedUpTo = after;
    let applied = 0;
    let wait = waitMs > 0 ? waitMs : 0;
    try {
      for (;;) {
        const page = await call<EventPage>(`${EVENT_FEED_PATH}?after=${after}&limit=${MAX_EVENT_PAGE}&wait=${wait}`, {
          idempotent: true,
          signal: shutdown.signal,
          ...(wait > 0 ? { timeoutMs: wait + options.upstream.timeoutMs } : {}),
        });
        wait = 0;
        if (page.head && BigInt(page.head) > sourceHead) sourceHead = BigInt(page.head);
        if (page.events.length === 0) break;
        applied += await options.apply(page.events);
        after = BigInt(page.events.at(-1)!.sequence);
        if (after > appliedUpTo) appliedUpTo = after;
        if (page.events.length < MAX_EVENT_PAGE) break;
      }
    } catch (error) {
      if (inSyncSince !== null) behindSince = Date.now();
      inSyncSince = null;
      throw error;
    }
    if (appliedUpTo >= sourceHead) inSyncSince ??= Date.now();
    return applied;
  }

  /** One on-demand pull at a time; callers that arrive while one runs share the next one. */
  async function catchUp(): Promise<number> {
    const after = pullsStarted;
    while (inFlight && inFlight.number <= after) await inFlight.done.catch(() => undefined);
    if (inFlight) return inFlight.done;
    const number = ++pullsStarted;
    const done = pull(0)
      .then((applied) => {
        lastCompletedPull = Math.max(lastCompletedPull, number);
        return applied;
      })
      .finally(() => {
        if (inFlight?.number === number) inFlight = undefined;
      });
    inFlight = { number, done };
    return done;
  }

  /** Fresh enough for a request that started when `pullsStarted` was `since`. */
  async function catchUpSince(since: number): Promise<void> {
    if (lastCompletedPull > since) return;
    if (inFlight && inFlight.number > since) {
      await inFlight.done;
      return;
    }
    await catchUp();
  }

  /** Reads continuously: held-open reads, backing off (up to 30 s) while the source does not answer. */
  async function poll(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        // After failures the first read is not held open: the source is known readable at once.
        const applied = await pull(failures > 0 ? 0 : longPollMs);
        if (failures > 0) {
          options.log.info({ source: options.source, failedReads: failures, applied }, "event feed readable again");
          options.onReadableAgain?.();
        }
        failures = 0;
        if (longPollMs <= 0 && applied === 0) await sleep(options.pollIntervalMs, signal);
      } catch (error) {
        if (signal.aborted) break;
        // The source is down or slow: its events wait in its outbox. Logged once per outage.
        if (failures === 0)
          options.log.warn(
            { source: options.source, reason: (error as Error).message },
            "cannot read the event feed; retrying with backoff",
          );
        if (failures === 0) options.onUnreadable?.(error as Error);
        failures += 1;
        // The backoff ends early when the source is back (its breaker closed on a ready /readyz).
        const recovered = new AbortController();
        const stopWaiting = options.upstream.onRecovered(() => recovered.abort());
        await sleep(
          Math.min(30_000, options.pollIntervalMs * 2 ** Math.min(failures, 10)),
          AbortSignal.any([signal, recovered.signal]),
        );
        stopWaiting();
      }
    }
  }

  return {
    source: options.source,
    catchUp,
    /** Where the pull counter stands: a request notes it when it starts. */
    position: () => pullsStarted,
    /**
     * Catch up with everything committed before the request started (at `since`) within
     * `deadlineMs`, however many pages that takes: `fresh` when it did; `behind` when the
     * deadline passed first (the source is slow, or far ahead); `unreachable` when the pull
     * failed, the source's breaker is open or its last call reached nothing. The pull goes on
     * in the background either way.
     */
    async tryCatchUp(since: number, deadlineMs: number): Promise<CatchUpOutcome> {
      let deadline: NodeJS.Timeout | undefined;
      const expired = new Promise<CatchUpOutcome>((resolve) => {
        const { upstream } = options;
        deadline = setTimeout(
          () =>
            resolve(
              upstream.status().state === "closed" && !upstream.lastCallReachedNothing() ? "behind" : "unreachable",
            ),
          deadlineMs,
        );
      });
      try {
        return await Promise.race([
          catchUpSince(since).then(
            (): CatchUpOutcome => "fresh",
            (): CatchUpOutcome => "unreachable",
          ),
          expired,
        ]);
      } finally {
        clearTimeout(deadline);
      }
    },
    /** Calls the source's other internal endpoints with the same connection and credentials. */
    call,
    /** Starts reading continuously (no-op when it already does). */
    startPolling() {
      if (polling && !pollAbort?.signal.aborted) return;
      // A poll being stopped finishes its read first; the new one starts after it.
      const previous = polling ?? Promise.resolve();
      pollAbort = new AbortController();
      const signal = pollAbort.signal;
      const current: Promise<void> = previous
        .then(() => poll(signal))
        .finally(() => {
          if (polling === current) polling = undefined;
        });
      polling = current;
    },
    /** Stops reading continuously; resolves when the current read is over. */
    async stopPolling() {
      pollAbort?.abort();
      await polling;
    },
    async stop() {
      pollAbort?.abort();
      shutdown.abort();
      await Promise.all([polling, inFlight?.done.catch(() => undefined)]);
    },
    /** Events the source has that are not applied here (as of its last answer), and seconds since this consumer last held them all. */
    lag() {
      const events = sourceHead > appliedUpTo ? Number(sourceHead - appliedUpTo) : 0;
      const seconds = inSyncSince !== null && events === 0 ? 0 : (Date.now() - behindSince) / 1000;
      return { events, seconds };
    },
    /** A broker delivery was applied: it moves the same cursor, so the lag counts it. `pending`: what the broker still holds for this consumer. */
    noteApplied(sequence: bigint, pending?: number) {
      if (sequence > appliedUpTo) appliedUpTo = sequence;
      if (pending !== undefined) sourceHead = appliedUpTo + BigInt(pending);
      else if (sequence > sourceHead) sourceHead = sequence;
      if (appliedUpTo >= sourceHead) inSyncSince ??= Date.now();
      else if (inSyncSince !== null) {
        inSyncSince = null;
        behindSince = Date.now();
      }
    },
  };
}

export type FeedConsumer = ReturnType<typeof createFeedConsumer>;
