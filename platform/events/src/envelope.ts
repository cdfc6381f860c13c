// Domain events: one envelope for every type, the contract between services (docs/events.md).

/** A federation entity: its type as in the subgraph SDLs' @key types (User, Course, Meal, …) and its id. */
export interface EntityRef {
  type: string;
  id: string;
}
export interface EventEnvelope<P extends Record<string, unknown> = Record<string, unknown>> {
  /** Unique per event; consumers apply each id once, JetStream deduplicates on it (Nats-Msg-Id). */
  id: string;
  /** PascalCase, past tense: StudentEnrolled, FoodOrderConfirmed, … */
  type: string;
  /** The payload's schema version for this type; a consumer skips versions it does not know. */
  version: number;
  occurredAt: string;
  /** The producing service. */
  source: string;
  /** Position in the producer's outbox: increasing, in commit order (feed cursors use it). */
  sequence: string;
  payload: P;
  /** The federation entities this event changes (caches evict them); absent in events written before entities were recorded. */
  entities?: EntityRef[];
}

/** What a producer writes; the rest of the envelope is filled in by the outbox. */
export interface NewEvent<P extends Record<string, unknown> = Record<string, unknown>> {
  type: string;
  version?: number;
  payload: P;
  /** The federation entities it changes (the catalogue fills them in from the payload). */
  entities?: EntityRef[];
}

/** `<prefix>.<source>.<type>`, e.g. pooya.food.FoodOrderConfirmed. */
export const eventSubject = (prefix: string, source: string, type: string) => `${prefix}.${source}.${type}`;

/** What a feed answers: events in sequence order, and the newest sequence in the outbox. */
export interface EventPage {
  events: EventEnvelope[];
  head: string | null;
}

/** Runs SQL on a Prisma client or an interactive transaction (the outbox is plumbing, not a model):
 * statements compiled by Kysely (./sql.ts), with their parameters as $1, $2, … */
export interface SqlRunner {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}
