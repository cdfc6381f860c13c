// The outbox relay (broker mode): publishes a service's committed events to JetStream in
// sequence order and marks them published once the broker has stored them. At least once:
// a crash between the broker's ack and the mark publishes the event again, which JetStream
// drops inside its duplicate window (Nats-Msg-Id = event id) and consumers' inboxes drop
// after it. Any number of replicas may run a relay; one at a time holds the outbox (a
// transaction-scoped advisory lock), so events reach the stream in commit order.
import { setTimeout as delay } from "node:timers/promises";
import type pg from "pg";
import type { Logger } from "@pooya/runtime";
import type { Metrics } from "@pooya/runtime";
import type { Broker } from "./broker.ts";
import { eventSubject } from "./envelope.ts";
import { OUTBOX_ENVELOPE_COLUMNS, rowToEnvelope, type Outbox } from "./outbox.ts";
import type { SqlRunner } from "./envelope.ts";
import { eventTables, runPoolQuery, sql } from "./sql.ts";

const RELAY_LOCK = 4_207_302;
const BATCH = 200;

/** What the relay reports (registered whether or not a broker is configured: zero without one). */
export function relayMetrics(metrics: Metrics) {
  let backlog = 0;
  metrics.gauge(
    "outbox_unpublished_events",
    "Events the outbox relay found waiting for the broker in its last round (a lower bound while it publishes in batches; 0 without NATS_URL)",
    [] as const,
    (set) => set({}, backlog),
  );
  return {
    published: metrics.counter(
      "events_published_total",
      "Events the outbox relay stored in the broker, by type (duplicate: the broker had it already)",
      ["type", "duplicate"] as const,
    ),
    setBacklog: (count: number) => {
      backlog = count;
    },
  };
}

export interface RelayOptions {
  outbox: Outbox<SqlRunner>;
  pool: pg.Pool;
  broker: Broker;
  /** How often to look for events committed by other replicas (commits here wake it at once). */
  pollIntervalMs: number;
  log: Logger;
  metrics?: ReturnType<typeof relayMetrics>;
}

export function startRelay(options: RelayOptions) {
  const { outbox, pool, broker, log } = options;
  const published = options.metrics?.published;
  let stopped = false;
  // Stopping cuts a pause short (a backoff after failures is up to 10 s).
  const halt = new AbortController();
  const sleep = (ms: number) => delay(ms, undefined, { signal: halt.signal, ref: false }).catch(() => undefined);

  /** One round: under the lock, publish up to BATCH events in order; returns how many (-1: another replica holds the outbox). */
  async function round(): Promise<number> {
    const client = await pool.connect();
    let failure: unknown;
    let count: number;
    try {
      await client.query("BEGIN");
      const lock = await runPoolQuery(
        client,
        sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS locked`.compile(eventTables),
      );
      if (!lock[0]?.locked) {
        await client.query("ROLLBACK");
        return -1;
      }
      const rows = await runPoolQuery(
        client,
        eventTables
          .selectFrom("outbox_events")
          .select(OUTBOX_ENVELOPE_COLUMNS)
          .where("published_at", "is", null)
          .orderBy("sequence")
          .limit(BATCH),
      );
      options.metrics?.setBacklog(rows.length);
      const done: string[] = [];
      for (const row of rows) {
        const event = rowToEnvelope(outbox.source, row);
        try {
          // One at a time: a refused event is never overtaken by the next one.
          const ack = await broker.publish(eventSubject(broker.subjectPrefix, outbox.source, event.type), event);
          published?.inc({ type: event.type, duplicate: String(ack.duplicate) });
          done.push(event.sequence);
        } catch (error) {
          failure = error;
          break;
        }
      }
      if (done.length)
        await runPoolQuery(
          client,
          eventTables
            .updateTable("outbox_events")
            .set({ published_at: sql`now()` })
            .where((eb) => eb("sequence", "=", eb.fn.any(sql<string[]>`${done}::bigint[]`))),
        );
      await client.query("COMMIT");
      count = done.length;
      options.metrics?.setBacklog(rows.length - count);
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    if (failure) throw failure;
    return count;
  }

  const running = (async () => {
    let failures = 0;
    while (!stopped) {
      if (!broker.connected) {
        await Promise.race([broker.whenConnected(), sleep(options.pollIntervalMs)]);
        continue;
      }
      const seen = outbox.committed.version;
      try {
        const count = await round();
        if (failures > 0) log.info({ failedRounds: failures }, "outbox relay publishing again");
        failures = 0;
        if (count === BATCH) continue; // more are waiting
        if (count === -1) {
          await sleep(Math.min(200, options.pollIntervalMs)); // another replica is publishing
          continue;
        }
      } catch (error) {
        if (failures === 0)
          log.warn(
            { reason: (error as Error).message },
            "outbox relay cannot publish; events wait in the outbox, retrying",
          );
        failures += 1;
        await sleep(Math.min(10_000, 100 * 2 ** Math.min(failures, 7)));
        continue;
      }
      await outbox.committed.wait(options.pollIntervalMs, seen);
    }
  })();

  return {
    /** Stops after the current round (events not published yet stay in the outbox). */
    async stop() {
      stopped = true;
      halt.abort();
      outbox.committed.notify();
      await running;
    },
  };
}
