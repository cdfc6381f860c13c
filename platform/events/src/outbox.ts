// The transactional outbox every producing service keeps (table outbox_events, in its own
// database): events are written in the transaction of the change they describe, so there is
// no change without its event and no event without its change.
import { randomUUID } from "node:crypto";
import type { EntityRef, EventEnvelope, EventPage, NewEvent, SqlRunner } from "./envelope.ts";
import { CommitSignal } from "./signal.ts";
import { noteWrittenEntities } from "./written.ts";
import { eventTables, runPoolQuery, runStatement, sql } from "./sql.ts";

/** Taken as the last step of a writing transaction: sequences then commit in order, so a reader
 * that has seen sequence N never later finds a smaller one appear (a simple cursor suffices). */
const OUTBOX_SEQUENCE_LOCK = 4_207_301;

/** Appends events inside the caller's transaction, in the given order (one statement for any number). */
export async function appendEvents(tx: SqlRunner, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await runStatement(tx, sql`SELECT pg_advisory_xact_lock(${OUTBOX_SEQUENCE_LOCK})`.compile(eventTables));
  await runStatement(
    tx,
    eventTables
      .insertInto("outbox_events")
      .columns(["id", "type", "version", "payload", "entities"])
      .expression(
        eventTables
          .selectFrom(
            sql<{
              id: string;
              type: string;
              version: number;
              payload: unknown;
              entities: unknown;
              n: number;
            }>`unnest(${events.map(() => randomUUID())}::uuid[], ${events.map((e) => e.type)}::text[], ${events.map((e) => e.version ?? 1)}::int[], ${events.map((e) => JSON.stringify(e.payload))}::jsonb[], ${events.map((e) => (e.entities ? JSON.stringify(e.entities) : null))}::jsonb[]) WITH ORDINALITY`.as<"e">(
              sql`e(id, type, version, payload, entities, n)`,
            ),
          )
          .select(["e.id", "e.type", "e.version", "e.payload", "e.entities"])
          .orderBy("e.n"),
      ),
  );
}

export interface OutboxRow {
  sequence: bigint | string;
  id: string;
  type: string;
  version: number;
  payload: Record<string, unknown>;
  occurred_at: Date;
  entities: EntityRef[] | null;
}

/** The columns an envelope is read from. */
export const OUTBOX_ENVELOPE_COLUMNS = [
  "sequence",
  "id",
  "type",
  "version",
  "payload",
  "occurred_at",
  "entities",
] as const;

export const rowToEnvelope = (source: string, row: OutboxRow): EventEnvelope => ({
  id: row.id,
  type: row.type,
  version: row.version,
  occurredAt: row.occurred_at.toISOString(),
  source,
  sequence: row.sequence.toString(),
  payload: row.payload,
  ...(row.entities ? { entities: row.entities } : {}),
});

/** Reads outside Prisma, on the service's pool: feed reads are plumbing, not part of any request's statements. */
export interface PoolLike {
  query<R extends object = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/** The events after `after`, in sequence order, and the newest sequence (readers measure lag by it). */
export async function readOutbox(pool: PoolLike, source: string, after: bigint, limit: number): Promise<EventPage> {
  const [rows, head] = await Promise.all([
    runPoolQuery(
      pool,
      eventTables
        .selectFrom("outbox_events")
        .select(OUTBOX_ENVELOPE_COLUMNS)
        .where("sequence", ">", after.toString())
        .orderBy("sequence")
        .limit(limit),
    ),
    runPoolQuery(
      pool,
      eventTables
        .selectFrom("outbox_events")
        .select((eb) => eb.cast<string | null>(eb.fn.max("sequence"), "text").as("head")),
    ),
  ]);
  return { events: rows.map((row) => rowToEnvelope(source, row)), head: head[0]?.head ?? null };
}

/** Adds events to the transaction they describe: called any number of times, written at its end. */
export type Emit = (events: NewEvent | readonly NewEvent[]) => void;

export interface Outbox<Tx extends SqlRunner> {
  source: string;
  /**
   * Runs `work` in one transaction; the events it emits are written as the transaction's last
   * step and commit (or roll back) with it. Whoever waits for news in this process is woken
   * once it committed, and the request's collection notes the entities they change (written.ts).
   */
  transaction<T>(work: (tx: Tx, emit: Emit) => Promise<T>): Promise<T>;
  read(after: bigint, limit: number): Promise<EventPage>;
  /** Notified after each commit that wrote events (in this process). */
  committed: CommitSignal;
}

export function createOutbox<Tx extends SqlRunner>(options: {
  source: string;
  pool: PoolLike;
  /** The service's interactive transaction (its options, its retries). */
  transaction: <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;
}): Outbox<Tx> {
  const committed = new CommitSignal();
  return {
    source: options.source,
    committed,
    async transaction(work) {
      // The events of the attempt that committed (the service's transaction may retry `work`).
      let written: NewEvent[] = [];
      const result = await options.transaction(async (tx) => {
        const pending: NewEvent[] = [];
        const value = await work(tx, (events) => {
          pending.push(...(Array.isArray(events) ? events : [events as NewEvent]));
        });
        await appendEvents(tx, pending);
        written = pending;
        return value;
      });
      if (written.length > 0) {
        committed.notify();
        noteWrittenEntities(written);
      }
      return result;
    },
    read: (after, limit) => readOutbox(options.pool, options.source, after, limit),
  };
}
