// Connection plumbing shared by the services: a pg pool behind Prisma's driver adapter and a
// counter of the SQL statements Prisma sends (tests assert per-request statement counts).
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";

export function createPgAdapter(databaseUrl: string, options: { max?: number } = {}) {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? Number(process.env.DATABASE_POOL_SIZE ?? 10),
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  });
  pool.on("error", (error) => console.error("idle database connection failed", error.message));
  return { adapter: new PrismaPg(pool), pool };
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

/** Postgres error codes the services turn into client errors. */
export const PG_UNIQUE_VIOLATION = "23505";
export const PG_CHECK_VIOLATION = "23514";
export const PG_SERIALIZATION_FAILURE = "40001";
