// The query builder for this service's hand-written SQL: its tables' types are generated from
// subgraphs/courses/prisma/schema.prisma (prisma-kysely, at `prisma generate`), so a renamed column fails tsc.
import { sqlBuilder } from "@pooya/events";
import type { DB } from "./generated/kysely/database.ts";

export const tables = sqlBuilder<DB>();
