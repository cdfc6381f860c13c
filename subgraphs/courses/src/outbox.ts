// The transactional outbox: every enrollment change writes its event in the same transaction.
// Sequence numbers are handed out under a transaction-scoped advisory lock taken as the last
// step before commit, so events commit in sequence order and a reader that has seen sequence N
// will never later find an event < N appear (the feed can be read with a simple cursor).
import type { CoursesDb, CoursesTransaction } from "./db.ts";
import type { CourseEvent, FeedPage } from "./internal-api.ts";

const OUTBOX_SEQUENCE_LOCK = 4_207_301;

export async function appendToOutbox(tx: CoursesTransaction, event: CourseEvent): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${OUTBOX_SEQUENCE_LOCK})`;
  await tx.outboxEvent.create({ data: { type: event.type, payload: event.payload } });
}

/** The events after `after`, and the newest sequence there is (readers measure their lag by it). */
export async function readFeed(db: CoursesDb, after: bigint, limit: number): Promise<FeedPage> {
  const [rows, newest] = await Promise.all([
    db.prisma.outboxEvent.findMany({ where: { sequence: { gt: after } }, orderBy: { sequence: "asc" }, take: limit }),
    db.prisma.outboxEvent.aggregate({ _max: { sequence: true } }),
  ]);
  const events = rows.map((r) => ({
    id: r.id,
    sequence: r.sequence.toString(),
    type: r.type as CourseEvent["type"],
    payload: r.payload as Record<string, string>,
    occurredAt: r.occurredAt.toISOString(),
  }));
  return { events, head: newest._max.sequence?.toString() ?? null };
}
