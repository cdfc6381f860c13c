// @pooya/runtime's public surface: what other packages import (tests inside it import its files).
export {
  callSettings,
  callVariables,
  checkDatabaseVariables,
  ConfigError,
  databaseUrlOf,
  describeEnv,
  env,
  LOG_LEVELS,
  NODE_ENVIRONMENTS,
  processVariables,
  projectDataDir,
  readAll,
  readEnv,
  serviceUrlVariable,
  subgraphVariables,
  type EnvShape,
  type EnvValues,
  type VariableDoc,
} from "./config.ts";
export {
  callerTimeLeft,
  createLogger,
  currentLog,
  currentRequestId,
  errorFields,
  logDestination,
  type Logger,
} from "./logging.ts";
export {
  bearerChallenge,
  CALLER_TIMEOUT_HEADER,
  createEdge,
  errorBody,
  HttpError,
  LINGER,
  MAX_BODY_BYTES,
  replyError,
  REQUEST_ID_HEADER,
  type CorsOrigins,
  type Edge,
  type ReadinessCheck,
} from "./edge.ts";
export { GRAPHQL_RESPONSE_JSON, graphqlAnswerContentType, graphqlMediaType } from "./graphql-media-type.ts";
export {
  callersOf,
  defineService,
  describeStartupFailure,
  drainDeadline,
  envShapeOf,
  readServiceEnv,
  runService,
  type AnyServiceDescriptor,
  type InternalRoute,
  type RunningService,
  type ServiceDescriptor,
} from "./service.ts";
export {
  badUserInput,
  conflict,
  dependencyError,
  domainError,
  forbidden,
  invalidToken,
  maskUnexpectedErrors,
  notFound,
  unauthenticated,
  unavailableRequest,
} from "./errors.ts";
export { isTransientDatabaseError } from "./transient-errors.ts";
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  requestShapePlugin,
  retryAfterPlugin,
  rootFieldSpansPlugin,
  setSubscriptionsHint,
} from "./graphql-requests.ts";
export { storableTextPlugin } from "./input-text.ts";
export { createUpstream, UpstreamError, type Upstream, type UpstreamSettings } from "./upstream.ts";
export { clientAddressKey, createRateLimitStore, type RateLimit } from "./rate-limits.ts";
export { codeLabel, createMetrics, graphqlMetricsPlugin, operationCounter, type Metrics } from "./metrics.ts";
export {
  enableWebSockets,
  graphqlOverWebSocket,
  isSubscription,
  onlyRootField,
  prepareOperation,
  SESSION_EXPIRED,
} from "./websocket.ts";
export {
  boundedCache,
  boundedKeyValueCache,
  documentBytes,
  stringBytes,
  type BoundedCache,
  type CacheBounds,
  type TrackedCache,
} from "./bounded-cache.ts";
export { ShutdownStack } from "./shutdown.ts";
