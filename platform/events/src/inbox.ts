// Applying an event exactly once: the consumer records its id in its inbox (inbox_events) in the
// same transaction as the change it makes, and moves its cursor for the event's source. Delivery
// is at least once (a redelivery after a crash, the feed read again after a broker message);
// a second delivery finds the id and changes nothing.
import type { EventEnvelope, SqlRunner } from "./envelope.ts";
import type { PoolLike } from "./outbox.ts";
import { asUuid, eventTables, runPoolQuery, runStatement, sql } from "./sql.ts";

/** True when the event was new and `work` ran; false when it had been applied before. The
 * source's cursor moves past it either way (a feed reader must not read it again). */
export async function applyOnce(tx: SqlRunner, event: EventEnvelope, work: () => Promise<void>): Promise<boolean> {
  const sequence = BigInt(event.sequence).toString();
  const fresh = await runStatement(
    tx,
    eventTables
      .insertInto("inbox_events")
      .values({ event_id: asUuid(event.id), sequence, type: event.type })
      .onConflict((oc) => oc.column("event_id").doNothing()),
  );
  if (fresh > 0) await work();
  await runStatement(
    tx,
    eventTables
      .insertInto("replication_cursors")
      .values({ source: event.source, last_sequence: sequence, updated_at: sql`now()` })
      .onConflict((oc) =>
        oc.column("source").doUpdateSet((eb) => ({
          last_sequence: eb.fn("GREATEST", [
            eb.ref("replication_cursors.last_sequence"),
            eb.ref("excluded.last_sequence"),
          ]),
          updated_at: sql`now()`,
        })),
      ),
  );
  return fresh > 0;
}

/** Where the consumer stands in `source`'s outbox (read on the pool, outside any request's statements). */
export async function readCursor(pool: PoolLike, source: string): Promise<bigint> {
  const rows = await runPoolQuery(
    pool,
    eventTables
      .selectFrom("replication_cursors")
      .select((eb) => eb.cast<string>("last_sequence", "text").as("last_sequence"))
      .where("source", "=", source),
  );
  return BigInt(rows[0]?.last_sequence ?? 0);
}
