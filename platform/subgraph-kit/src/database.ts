// Connection plumbing shared by the services: a pg pool behind Prisma's driver adapter and a
// counter of the SQL statements Prisma sends (tests assert per-request statement counts).
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Logger } from "@pooya/runtime";
import { tracingEnabled } from "@pooya/runtime/tracing";
import { isTransientDatabaseError } from "@pooya/runtime";
import { compileStatement, type Statement } from "@pooya/events";

/** A span for a read sent straight on the pool (Prisma's own statements get Prisma's spans). */
function traced<T>(text: string, run: () => Promise<T>): Promise<T> {
  const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "QUERY";
  const target = /\bFROM\s+"?(\w+)/i.exec(text)?.[1];
  const name = target ? `${operation} ${target}` : operation;
  const attributes = {
    "db.system.name": "postgresql",
    "db.operation.name": operation,
    "db.query.text": text,
    ...(target ? { "db.collection.name": target } : {}),
  };
  return trace
    .getTracer("pooya-database")
    .startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        return await run();
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
}

export interface DatabaseOptions {
  /** Connections in the pool; 1 on embedded Postgres, whose socket server shares one session. */
  poolSize: number;
  log: Logger;
}

export function createPgAdapter(databaseUrl: string, options: DatabaseOptions) {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  });
  // An idle connection the server dropped: the pool replaces it on the next checkout.
  pool.on("error", (error) =>
    options.log.warn(
      { err: { message: error.message, code: (error as { code?: string }).code } },
      "idle database connection lost",
    ),
  );
  return { adapter: new PrismaPg(pool), pool };
}

/** A service's Prisma client on a pg pool, with every statement counted. */
export function connectDatabase<Client extends { $disconnect(): Promise<void> }>(
  databaseUrl: string,
  options: DatabaseOptions,
  createClient: (adapter: PrismaPg, countStatement: () => void) => Client,
) {
  const { adapter, pool } = createPgAdapter(databaseUrl, options);
  const sqlStatements = new SqlStatementCounter();
  const prisma = createClient(adapter, sqlStatements.increment);
  return {
    prisma,
    pool,
    sqlStatements,
    /**
     * One read straight on the pool, for hot paths that return many rows (entity batches): no
     * ORM mapping per row, only the columns asked for; a statement built with Kysely (typed
     * columns, see @pooya/events' sql.ts). Counted like Prisma's statements; sent once more if
     * its connection was lost, as Prisma's reads are.
     */
    async read<Row extends object>(statement: Statement<Row>): Promise<Row[]> {
      const { sql: text, parameters } = compileStatement(statement);
      const query = async () => {
        sqlStatements.increment();
        return (await pool.query<Row>(text, [...parameters])).rows;
      };
      const attempt = () =>
        query().catch((error: unknown) => (isTransientDatabaseError(error) ? query() : Promise.reject(error)));
      return tracingEnabled() ? traced(text, attempt) : attempt();
    },
    ping: () =>
      pool.query("SELECT 1").then(
        () => true,
        () => false,
      ),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

export class SqlStatementCounter {
  #count = 0;
  increment = () => {
    this.#count += 1;
  };
  get count(): number {
    return this.#count;
  }
  /** Statements sent while `work` ran (only meaningful when nothing else runs meanwhile). */
  async measure<T>(work: () => Promise<T>): Promise<{ result: T; statements: number }> {
    const before = this.#count;
    const result = await work();
    return { result, statements: this.#count - before };
  }
}

/** Interactive transactions wait for a pooled connection under load instead of failing at 2 s. */
export const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 15_000 } as const;

const READ_OPERATIONS = new Set([
  "findUnique",
  "findUniqueOrThrow",
  "findFirst",
  "findFirstOrThrow",
  "findMany",
  "count",
  "aggregate",
  "groupBy",
]);

/**
 * A Prisma client extension: a read that fails because its connection was lost is sent once
 * more (the pool has dropped the broken connection, so it runs on a fresh one). Writes are
 * never repeated here; their transaction rolls back and the client may retry the request.
 */
export const retryTransientReads = {
  name: "retry-transient-reads",
  query: {
    $allModels: {
      async $allOperations({
        operation,
        args,
        query,
      }: {
        operation: string;
        args: unknown;
        query: (args: unknown) => Promise<unknown>;
      }) {
        try {
          return await query(args);
        } catch (error) {
          if (!READ_OPERATIONS.has(operation) || !isTransientDatabaseError(error)) throw error;
          return query(args);
        }
      },
    },
  },
};
