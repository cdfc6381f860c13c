// @pooya/subgraph-kit's public surface: what other packages import (tests inside it import its files).
export { applyMigrations } from "./migrations.ts";
export { TRANSACTION_OPTIONS } from "./database.ts";
export {
  afterPosition,
  decodeCursor,
  ownedPages,
  pageSize,
  toConnection,
  type Connection,
  type OwnedRow,
} from "./pagination.ts";
export { DateScalar, DateTimeScalar, formatDay } from "./scalars.ts";
export { groupLoader, loaderPerKey, rowLoader } from "./loaders.ts";
export { selectedColumns } from "./selection.ts";
export { isUuid, requireIntRange, requireText } from "./validation.ts";
export { defineSubgraph, wireSubgraph, type DatabaseOf, type TransactionOf } from "./define-subgraph.ts";
export type { Policies, Policy } from "./authorization.ts";
