// Connection plumbing shared by the services: a pg pool behind Prisma's driver adapter and a
// counter of the SQL statements Prisma sends (tests assert per-request statement counts).
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { Logger } from "./logging.ts";

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
  pool.on("error", (error) => options.log.warn({ err: { message: error.message, code: (error as { code?: string }).code } }, "idle database connection lost"));
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
    ping: () => pool.query("SELECT 1").then(() => true, () => false),
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
