// Applying an event exactly once: the consumer records its id in its inbox (inbox_events) in the
// same transaction as the change it makes, and moves its cursor for the event's source. Delivery
// is at least once (a redelivery after a crash, the feed read again after a broker message);
// a second delivery finds the id and changes nothing.
import type { EventEnvelope, SqlRunner } from "./envelope.ts";
import type { PoolLike } from "./outbox.ts";

/** True when the event was new and `work` ran; false when it had been applied before. The
 * source's cursor moves past it either way (a feed reader must not read it again). */
export async function applyOnce(tx: SqlRunner, event: EventEnvelope, work: () => Promise<void>): Promise<boolean> {
  const sequence = BigInt(event.sequence);
  const fresh = await tx.$executeRaw`
    INSERT INTO inbox_events (event_id, sequence, type) VALUES (${event.id}::uuid, ${sequence}, ${event.type})
    ON CONFLICT (event_id) DO NOTHING`;
  if (fresh > 0) await work();
  await tx.$executeRaw`
    INSERT INTO replication_cursors (source, last_sequence, updated_at) VALUES (${event.source}, ${sequence}, now())
    ON CONFLICT (source) DO UPDATE SET last_sequence = GREATEST(replication_cursors.last_sequence, EXCLUDED.last_sequence), updated_at = now()`;
  return fresh > 0;
}

/** Where the consumer stands in `source`'s outbox (read on the pool, outside any request's statements). */
export async function readCursor(pool: PoolLike, source: string): Promise<bigint> {
  const { rows } = await pool.query<{ last_sequence: string }>(
    "SELECT last_sequence::text FROM replication_cursors WHERE source = $1",
    [source],
  );
  return BigInt(rows[0]?.last_sequence ?? 0);
}
