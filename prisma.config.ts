// One Prisma config for every service: PRISMA_SERVICE picks the schema and its migrations, in the
// service's own folder (subgraphs/<service>/prisma/), SERVICE_DATABASE_URL the database.
// scripts/prisma.ts sets both (through @pooya/system); by hand, from the project folder:
//   PRISMA_SERVICE=users SERVICE_DATABASE_URL=postgres://… npx prisma migrate status
import { defineConfig } from "prisma/config";

const service = process.env.PRISMA_SERVICE ?? "";

export default defineConfig({
  // The shared event tables are defined once, in @pooya/events (EVENT_TABLES_DDL, created by the
  // subgraph kit), not in any schema.prisma: Prisma Migrate leaves them alone. Keep this list to
  // EVENT_TABLE_NAMES (platform/events/test/event-tables.test.ts checks it).
  experimental: { externalTables: true },
  tables: { external: ["public.outbox_events", "public.inbox_events", "public.replication_cursors"] },
  schema: `subgraphs/${service}/prisma/schema.prisma`,
  migrations: { path: `subgraphs/${service}/prisma/migrations` },
  datasource: {
    url: process.env.SERVICE_DATABASE_URL ?? "",
    shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL,
  },
});
