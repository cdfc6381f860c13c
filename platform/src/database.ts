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

/**
 * A service's Prisma client on a pg pool, with every statement counted. `poolSize` 1 is for
 * PGlite, whose socket server shares one session between connections.
 */
export function connectDatabase<Client extends { $disconnect(): Promise<void> }>(
  databaseUrl: string,
  options: { poolSize?: number },
  createClient: (adapter: PrismaPg, countStatement: () => void) => Client,
) {
  const { adapter, pool } = createPgAdapter(databaseUrl, { max: options.poolSize });
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
