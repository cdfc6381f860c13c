// One Prisma config for every service: PRISMA_SERVICE picks the schema and its migrations,
// SERVICE_DATABASE_URL the database. scripts/prisma.ts sets both (through @pooya/system).
import { defineConfig } from "prisma/config";

const service = process.env.PRISMA_SERVICE ?? "";

export default defineConfig({
  schema: `${service}/schema.prisma`,
  migrations: { path: `${service}/migrations` },
  datasource: {
    url: process.env.SERVICE_DATABASE_URL ?? "",
    shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL,
  },
});
