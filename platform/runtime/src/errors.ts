// Typed GraphQL errors: every failure a client can act on carries extensions.code.
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { HeaderMap } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import { currentLog, errorFields, type Logger } from "./logging.ts";
import { withoutSuggestions } from "./graphql-requests.ts";
import { UpstreamError } from "./upstream.ts";
import { isTransientDatabaseError } from "./transient-errors.ts";

export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "BAD_USER_INPUT"
  | "CONFLICT"
  | "NOT_ENROLLED"
  | "INSUFFICIENT_FUNDS"
  | "SOLD_OUT"
  | "TOO_MANY_REQUESTS"
  | "SERVICE_UNAVAILABLE"
  | "GATEWAY_TIMEOUT"
  | "RESPONSE_TOO_LARGE";

export function domainError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const unauthenticated = (message = "Sign in first: this operation needs an access token.") =>
  domainError("UNAUTHENTICATED", message);
export const forbidden = (message = "You are not allowed to do this.") => domainError("FORBIDDEN", message);
export const notFound = (what: string, id?: string) =>
  domainError("NOT_FOUND", id ? `${what} ${id} does not exist.` : `${what} does not exist.`);
export const badUserInput = (message: string, field?: string) =>
  domainError("BAD_USER_INPUT", message, field ? { field } : {});
export const conflict = (message: string) => domainError("CONFLICT", message);

/** A call to another service that did not answer, as the client's typed, retryable error. */
export function dependencyError(error: unknown, service: string): GraphQLError {
  if (error instanceof UpstreamError && error.failure === "too-large") {
    return domainError(
      "RESPONSE_TOO_LARGE",
      `The ${service} service's answer to this query is too large; ask for fewer items.`,
    );
  }
  if (error instanceof UpstreamError && error.failure === "timeout") {
    return domainError("GATEWAY_TIMEOUT", `The ${service} service did not answer in time; try again shortly.`, {
      retryAfterSeconds: error.retryAfterSeconds,
    });
  }
  const retryAfterSeconds = error instanceof UpstreamError ? error.retryAfterSeconds : 1;
  return domainError("SERVICE_UNAVAILABLE", `The ${service} service is unavailable right now; try again shortly.`, {
    retryAfterSeconds,
  });
}

/** The whole request cannot be served right now (e.g. token keys unreachable): HTTP 503 with Retry-After. */
export function unavailableRequest(message: string, retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: "SERVICE_UNAVAILABLE",
      retryAfterSeconds,
      http: { status: 503, headers: new HeaderMap([["retry-after", String(retryAfterSeconds)]]) },
    },
  });
}

/**
 * An error for a token that is present but unusable: HTTP 401 as well as the code, with the
 * WWW-Authenticate `challenge` when given (else the edge adds a plain one).
 */
export function invalidToken(message: string, challenge?: string): GraphQLError {
  const headers = challenge ? new HeaderMap([["www-authenticate", challenge]]) : undefined;
  const http = { status: 401, ...(headers ? { headers } : {}) };
  return new GraphQLError(message, { extensions: { code: "UNAUTHENTICATED", http } });
}

/** The error codes a client may see (anything else is masked as INTERNAL_SERVER_ERROR). */
export const CLIENT_CODES: ReadonlySet<string> = new Set<string>([
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "BAD_USER_INPUT",
  "CONFLICT",
  "NOT_ENROLLED",
  "INSUFFICIENT_FUNDS",
  "SOLD_OUT",
  "TOO_MANY_REQUESTS",
  "SERVICE_UNAVAILABLE",
  "GATEWAY_TIMEOUT",
  // Apollo's own request-level codes: safe, they describe the request, not our internals.
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "PERSISTED_QUERY_HASH_MISMATCH",
  "PERSISTED_QUERY_NOT_LISTED",
  "OPERATION_RESOLUTION_FAILURE",
  "BAD_REQUEST",
  // Demand control: the request asks for more than is served.
  "COST_ESTIMATED_TOO_EXPENSIVE",
  "REQUEST_TOO_LARGE",
  "RESPONSE_TOO_LARGE",
]);

/** Extension keys a client may rely on besides `code`: the input field at fault, which refusal a CONFLICT is, the students a roll call refused, when to retry. */
const CLIENT_DETAILS = [
  "field",
  "reason",
  "studentIds",
  "ids",
  "retryAfterSeconds",
  "cost",
  "maxCost",
  "maxBytes",
  "maxLength",
  "maxItems",
] as const;

/**
 * `extensions.reason` values a client acts on (the rest, such as a subgraph's own refusal reason,
 * stay internal): COURSE_CLOSED — a CONFLICT because the course is closed (not because it is full);
 * ACCOUNT_DEACTIVATED — the account was deactivated by staff, signing in again will not help.
 */
export const CLIENT_REASONS: ReadonlySet<string> = new Set(["COURSE_CLOSED", "ACCOUNT_DEACTIVATED"]);

export interface ErrorMaskOptions {
  log: Logger;
  /** Production answers carry no "Did you mean …?" suggestions. */
  production?: boolean;
  /** Errors that another service already logged (the gateway passes subgraph errors on). */
  loggedElsewhere?: (formatted: GraphQLFormattedError) => boolean;
}

/**
 * formatError for every server: known codes pass through (without stack traces); anything
 * else — a bug, a database error with SQL in it — is logged once, with the request id, and masked.
 */
export function maskUnexpectedErrors(options: ErrorMaskOptions) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (typeof code === "string" && CLIENT_CODES.has(code)) {
      // Only what a client acts on: the code and the documented details, nothing internal.
      const details = Object.fromEntries(
        CLIENT_DETAILS.filter((k) => formatted.extensions?.[k] !== undefined).map((k) => [k, formatted.extensions![k]]),
      );
      const reason = formatted.extensions?.reason;
      if (typeof reason === "string" && CLIENT_REASONS.has(reason)) details.reason = reason;
      const message = options.production ? withoutSuggestions(formatted.message) : formatted.message;
      return { ...formatted, message, extensions: { code, ...details } };
    }
    const original = unwrapResolverError(error);
    if (isTransientDatabaseError(original)) {
      // Not the client's fault and not a bug: the database connection failed; nothing was half-written.
      currentLog(options.log).warn(
        { err: { message: (original as Error).message }, path: formatted.path },
        "database unavailable for this request",
      );
      return {
        message: "The service's database is unavailable right now; try again shortly.",
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: "SERVICE_UNAVAILABLE", retryAfterSeconds: 1 },
      };
    }
    if (!options.loggedElsewhere?.(formatted)) {
      currentLog(options.log).error({ err: errorFields(original), path: formatted.path }, "unexpected error");
    }
    return {
      message: "Internal server error",
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    };
  };
}
