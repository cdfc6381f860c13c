// One Prisma config for every service: PRISMA_SERVICE picks the schema and its migrations,
// SERVICE_DATABASE_URL the database. scripts/prisma.mjs sets both.
import { defineConfig } from "prisma/config";

const service = process.env.PRISMA_SERVICE ?? "users";

export default defineConfig({
  schema: `${service}/schema.prisma`,
  migrations: { path: `${service}/migrations` },
  datasource: {
    url: process.env.SERVICE_DATABASE_URL ?? "",
    shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL,
  },
});
