// Embedded Postgres for the zero-setup start: one PGlite (PG 17, WASM) per service, persisted
// in a folder and served over the Postgres wire protocol, so the services use exactly the same
// driver and code as with a real server; only the URL differs.
import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export const EMBEDDED_POSTGRES_SETTINGS = [
  "shared_buffers = 8MB",
  "wal_buffers = 1MB",
  "work_mem = 2MB",
  "maintenance_work_mem = 16MB",
];

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/** The Terminate message: PGlite answers it without reaching Postgres. */
const TERMINATE = Uint8Array.of(0x58);

/**
 * PGlite 0.4.6 parses every message Postgres writes and keeps it in a list that only
 * `execProtocol` empties. The socket server runs each client message through
 * `execProtocolRawStream`, which passes the bytes on and never empties it: every row ever read
 * stayed on the heap (≈ 45 KB per dashboard request through the gateway; `npm start` grew
 * 240 MB a minute under load). After each message, an `execProtocol` of Terminate — which
 * PGlite answers at once, without running anything — empties the list. This leans on the
 * pinned 0.4.6 (0.5 makes Prisma's schema engine panic, TOOLCHAIN.md); the embedded-postgres
 * test fails if the list keeps growing.
 */
function forgetParsedMessages(db: PGlite) {
  const stream = db.execProtocolRawStream.bind(db);
  db.execProtocolRawStream = async (message, options) => {
    try {
      return await stream(message, options);
    } finally {
      await db.execProtocol(TERMINATE, { syncToFs: false, throwOnError: false });
    }
  };
}

/** maxConnections must cover the service's pool plus the migration runner's connection. */
export async function startEmbeddedPostgres(
  dataDir: string,
  options: { port: number; maxConnections: number },
): Promise<EmbeddedPostgres> {
  await mkdir(dataDir, { recursive: true });
  // Small buffers: each instance is one service's demo data (a few MB), and five run in one
  // process. Postgres' default 128 MB shared_buffers costs ≈ 35 MB of resident memory each.
  const db = await PGlite.create(dataDir, { postgresqlconf: EMBEDDED_POSTGRES_SETTINGS });
  forgetParsedMessages(db);
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: options.port,
    maxConnections: options.maxConnections,
  });
  await server.start();
  const [host, port] = server.getServerConn().split(":");
  return {
    url: `postgres://postgres@${host}:${port}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
