// Embedded Postgres for the zero-setup start: one PGlite (PG 17, WASM) per service, persisted
// in a folder and served over the Postgres wire protocol, so the services use exactly the same
// driver and code as with a real server; only the URL differs.
import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/** maxConnections must cover the service's pool plus the migration runner's connection. */
export async function startEmbeddedPostgres(dataDir: string, options: { port: number; maxConnections: number }): Promise<EmbeddedPostgres> {
  await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: options.port, maxConnections: options.maxConnections });
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
