// Hand-written SQL, typed: statements are built with Kysely against table types (generated from
// each service's schema.prisma by prisma-kysely, or the event tables below), so a renamed or
// misspelt column fails `tsc`. Kysely only compiles here — it never connects: the SQL it writes
// runs through the caller's Prisma transaction or pg pool, as before (same transactions, same
// statement counts and spans).
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
  type ColumnType,
  type Compilable,
  type CompiledQuery,
  type Generated,
  type RawBuilder,
  type SelectType,
} from "kysely";
import type { EntityRef, SqlRunner } from "./envelope.ts";
import type { PoolLike } from "./outbox.ts";

export { sql } from "kysely";
export type { ExpressionBuilder, Kysely, RawBuilder, SelectQueryBuilder } from "kysely";

/** A query builder for the tables of `DB` that compiles statements and cannot run them itself. */
export function sqlBuilder<DB>(): Kysely<DB> {
  return new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}

/** A builder's statement, or a raw one (`sql\`…\`.compile(builder)`). */
export type Statement<Row = unknown> = Compilable<Row> | CompiledQuery<Row>;
/** The SQL text and parameters of a statement. */
export const compileStatement = <Row>(query: Statement<Row>): CompiledQuery<Row> =>
  "compile" in query ? query.compile() : query;

/** Runs a statement in the caller's Prisma transaction (or client); resolves with the rows it affected. */
export function runStatement(tx: SqlRunner, query: Statement): Promise<number> {
  const { sql: text, parameters } = compileStatement(query);
  return tx.$executeRawUnsafe(text, ...parameters);
}

/** Runs a query in the caller's Prisma transaction (or client); resolves with its rows. */
export function runQuery<Row>(tx: SqlRunner, query: Statement<Row>): Promise<Row[]> {
  const { sql: text, parameters } = compileStatement(query);
  return tx.$queryRawUnsafe<Row[]>(text, ...parameters);
}

/** Runs a query on a pg pool or connection (outside Prisma); resolves with its rows. */
export async function runPoolQuery<Row extends object>(pool: PoolLike, query: Statement<Row>): Promise<Row[]> {
  const { sql: text, parameters } = compileStatement(query);
  return (await pool.query<Row>(text, [...parameters])).rows;
}

/** A parameter cast to uuid (`$n::uuid`), as the statements wrote it by hand. */
export const asUuid = (value: string): RawBuilder<string> => sql<string>`${value}::uuid`;
/** An array parameter cast to uuid[] (`$n::uuid[]`). */
export const asUuids = (values: readonly string[]): RawBuilder<string[]> => sql<string[]>`${values}::uuid[]`;

/*
 * The event tables every producing (outbox) or consuming (inbox, cursors) service keeps in its
 * own database, with the same columns everywhere (docs/events.md). One definition for all: the
 * platform code writes them, whichever service it runs in. Their columns are checked against
 * migrated service databases (platform/events/test/event-tables.test.ts) through
 * EVENT_TABLE_COLUMNS, which must name exactly these columns (tsc enforces that).
 */

/** outbox_events: BigInt columns come back from pg as strings; payload and entities are written as JSON text. */
export interface OutboxEventTable {
  sequence: Generated<string>;
  id: string;
  type: string;
  version: Generated<number>;
  payload: ColumnType<Record<string, unknown>, string, string>;
  occurred_at: Generated<Date>;
  published_at: Date | null;
  /** The federation entities the event changes (null in rows written before they were recorded). */
  entities: ColumnType<EntityRef[] | null, string | null | undefined, string | null>;
}

export interface InboxEventTable {
  event_id: string;
  sequence: string;
  type: string;
  applied_at: Generated<Date>;
}

export interface ReplicationCursorTable {
  source: string;
  last_sequence: string;
  updated_at: Date;
}

export interface EventTables {
  outbox_events: OutboxEventTable;
  inbox_events: InboxEventTable;
  replication_cursors: ReplicationCursorTable;
}

/** Each table's columns as Postgres reports them (information_schema.columns.data_type, is_nullable);
 * tsc holds the names and nullability to the interfaces above, the test holds them to the databases. */
export const EVENT_TABLE_COLUMNS: {
  [Table in keyof EventTables]: {
    [Column in keyof EventTables[Table]]: {
      type: string;
      nullable: null extends SelectType<EventTables[Table][Column]> ? true : false;
    };
  };
} = {
  outbox_events: {
    sequence: { type: "bigint", nullable: false },
    id: { type: "uuid", nullable: false },
    type: { type: "text", nullable: false },
    version: { type: "integer", nullable: false },
    payload: { type: "jsonb", nullable: false },
    occurred_at: { type: "timestamp with time zone", nullable: false },
    published_at: { type: "timestamp with time zone", nullable: true },
    entities: { type: "jsonb", nullable: true },
  },
  inbox_events: {
    event_id: { type: "uuid", nullable: false },
    sequence: { type: "bigint", nullable: false },
    type: { type: "text", nullable: false },
    applied_at: { type: "timestamp with time zone", nullable: false },
  },
  replication_cursors: {
    source: { type: "text", nullable: false },
    last_sequence: { type: "bigint", nullable: false },
    updated_at: { type: "timestamp with time zone", nullable: false },
  },
};

/**
 * The event tables' DDL, the one place they are created: the subgraph kit runs the outbox's
 * after a producing service's own migrations, the inbox's after a consuming one's (inside their advisory lock), so a new service
 * gets them without writing them again. `IF NOT EXISTS` makes it a no-op where a service's older
 * migrations created them already (their history stays as applied). Prisma treats these tables as
 * external (prisma.config.ts): they are in no service's schema.prisma.
 */
export const OUTBOX_TABLES_DDL = `
CREATE TABLE IF NOT EXISTS "outbox_events" (
    "sequence" BIGSERIAL NOT NULL,
    "id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "payload" JSONB NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "entities" JSONB,
    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("sequence")
);
CREATE UNIQUE INDEX IF NOT EXISTS "outbox_events_id_key" ON "outbox_events"("id");
CREATE INDEX IF NOT EXISTS "outbox_events_published_at_sequence_idx" ON "outbox_events"("published_at", "sequence");
DO $$ BEGIN
  -- Outboxes created before events named their entities. Looked up first: ALTER TABLE would lock
  -- the outbox against writers on every start, even when the column is there.
  IF NOT EXISTS (
    SELECT 1 FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = 'outbox_events' AND column_name = 'entities'
  ) THEN
    ALTER TABLE "outbox_events" ADD COLUMN IF NOT EXISTS "entities" jsonb;
  END IF;
END $$;
`;

/** The consuming side's tables (inbox and a cursor per source): see OUTBOX_TABLES_DDL. */
export const INBOX_TABLES_DDL = `
CREATE TABLE IF NOT EXISTS "inbox_events" (
    "event_id" UUID NOT NULL,
    "sequence" BIGINT NOT NULL,
    "type" TEXT NOT NULL,
    "applied_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "inbox_events_pkey" PRIMARY KEY ("event_id")
);

CREATE TABLE IF NOT EXISTS "replication_cursors" (
    "source" TEXT NOT NULL,
    "last_sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "replication_cursors_pkey" PRIMARY KEY ("source")
);
`;

/** Both, for a service that produces and consumes. */
export const EVENT_TABLES_DDL = OUTBOX_TABLES_DDL + INBOX_TABLES_DDL;

/** The event tables by name (for Prisma's external tables and checks). */
export const EVENT_TABLE_NAMES = ["outbox_events", "inbox_events", "replication_cursors"] as const;

/** The builder for the event tables (platform code: outbox, inbox, relay). */
export const eventTables = sqlBuilder<EventTables>();
