// Domain events between services: transactional outboxes, a feed per producer, NATS JetStream
// when NATS_URL is set, inboxes on the consuming side. docs/events.md describes the contract.
// The package's public surface: what other packages import (tests inside it import its files).
export type { EntityRef, EventEnvelope, SqlRunner } from "./envelope.ts";
export { CommitSignal } from "./signal.ts";
export { collectWrittenEntities, writtenEntities } from "./written.ts";
export { createOutbox, type Outbox, type PoolLike } from "./outbox.ts";
export { EVENT_FEED_PATH } from "./feed.ts";
export { subscribeToLiveEvents, type LiveEvents, type LiveEventsOptions, type LiveEventsStatus } from "./live.ts";
export { streamName, type Broker } from "./broker.ts";
export { createEventConsumer, type AfterCommit } from "./consumer.ts";
export { defineEvents, eventFields, type EventCatalog } from "./catalog.ts";
export { brokerFor, eventSettings, eventVariables, startEventProducer, type EventSettings } from "./service.ts";
export {
  EVENT_TABLE_COLUMNS,
  EVENT_TABLES_DDL,
  INBOX_TABLES_DDL,
  OUTBOX_TABLES_DDL,
  EVENT_TABLE_NAMES,
  asUuid,
  asUuids,
  compileStatement,
  runPoolQuery,
  runQuery,
  runStatement,
  sql,
  sqlBuilder,
  type ExpressionBuilder,
  type RawBuilder,
  type SelectQueryBuilder,
  type Statement,
} from "./sql.ts";
