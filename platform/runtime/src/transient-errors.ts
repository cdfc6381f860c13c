// Which database failures say nothing about the request (the edge maps them to a retryable
// SERVICE_UNAVAILABLE; the database retries such reads once). No driver here: the gateway shares it.
const TRANSIENT_ADAPTER_KINDS = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
  "TransactionWriteConflict",
]);
// Connection exceptions, the server shutting down or refusing for now, serialization failures and deadlocks, too many connections.
const TRANSIENT_POSTGRES_CODES = /^(08...|57P0[1-3]|40001|40P01|53300|53400)$/;
const TRANSIENT_PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2034"]);
const TRANSIENT_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"]);
const TRANSIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;

/** What Prisma's, the driver adapter's, pg's and Node's errors carry that tells a transient failure. */
interface ErrorFacts {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  kind?: unknown;
  originalCode?: unknown;
  cause?: ErrorFacts;
  meta?: { driverAdapterError?: { cause?: ErrorFacts } };
}

/**
 * A database failure that says nothing about the request: the connection was lost, the pool
 * had no connection in time, the server is restarting, a serialization conflict. Retrying
 * (later, or at once for a read) can succeed; the client gets a retryable SERVICE_UNAVAILABLE.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  for (let e = error as ErrorFacts | undefined, depth = 0; e && depth < 5; e = e.cause, depth += 1) {
    const adapter = e.meta?.driverAdapterError?.cause ?? (e.name === "DriverAdapterError" ? e.cause : undefined);
    if (adapter) {
      if (typeof adapter.kind === "string" && TRANSIENT_ADAPTER_KINDS.has(adapter.kind)) return true;
      if (typeof adapter.originalCode === "string" && TRANSIENT_POSTGRES_CODES.test(adapter.originalCode)) return true;
      if (typeof adapter.code === "string" && TRANSIENT_POSTGRES_CODES.test(adapter.code)) return true;
    }
    if (
      typeof e.code === "string" &&
      (TRANSIENT_PRISMA_CODES.has(e.code) || TRANSIENT_NODE_CODES.has(e.code) || TRANSIENT_POSTGRES_CODES.test(e.code))
    )
      return true;
    if (typeof e.message === "string" && TRANSIENT_MESSAGES.test(e.message)) return true;
  }
  return false;
}
