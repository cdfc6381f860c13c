// Malformed GraphQL requests are the client's mistake: each gets a 4xx and a code, never a 500.
// Apollo Server already answers syntax and validation errors that way; this covers the cases
// it leaves to the executor (no operation to run, a subscription over HTTP) and the request
// errors it raises without a code (persisted-query version and hash).
import { GraphQLError, Kind } from "graphql";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { SpanStatusCode, trace } from "@opentelemetry/api";

/** Where subscriptions are served; the message of the 400 an HTTP subscription gets. */
let subscriptionsHint = "Subscriptions are not served over HTTP.";
export function setSubscriptionsHint(hint: string): void {
  subscriptionsHint = hint;
}

function badRequest(message: string, code = "BAD_REQUEST"): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400 } } });
}

export function requestShapePlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request }) {
          if (!operation) {
            const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
            if (request.operationName)
              throw badRequest(`The document has no operation named "${request.operationName}".`);
            if (operations.length > 1)
              throw badRequest("The document holds several operations: name the one to run in operationName.");
            throw badRequest("The document holds no operation to run.");
          }
          if (operation.operation === "subscription") throw badRequest(subscriptionsHint);
        },
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            const http = error.extensions.http as { status?: number } | undefined;
            if (error.extensions.code !== undefined || !http?.status || http.status >= 500) continue;
            // Apollo's own request errors come without a code; give them one a client can act on.
            (error.extensions as Record<string, unknown>).code =
              error.message === "provided sha does not match query" ? "PERSISTED_QUERY_HASH_MISMATCH" : "BAD_REQUEST";
          }
        },
      };
    },
  };
}

/** "Did you mean …?" names parts of the schema; production answers never carry it. */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean [^?]*\?/g, "");
}

/** Answers whose errors say when to retry carry it as a `Retry-After` header too (the longest wait). */
export function retryAfterPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== "single") return;
          const waits = (response.body.singleResult.errors ?? [])
            .map((e) => e.extensions?.retryAfterSeconds)
            .filter((s): s is number => typeof s === "number");
          if (waits.length && !response.http.headers.has("retry-after"))
            response.http.headers.set("retry-after", String(Math.max(...waits)));
        },
      };
    },
  };
}

/** With tracing on: one span per root field a subgraph resolves (its resolver's time), cheap enough to keep. */
export function rootFieldSpansPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  const tracer = trace.getTracer("pooya-graphql");
  return {
    async requestDidStart() {
      return {
        async executionDidStart() {
          return {
            willResolveField({ info }) {
              if (info.path.prev !== undefined) return; // root fields only
              const span = tracer.startSpan(`graphql.resolve ${info.parentType.name}.${info.fieldName}`, {
                attributes: { "graphql.field.path": info.fieldName },
              });
              return (error) => {
                if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
                span.end();
              };
            },
          };
        },
      };
    },
  };
}

/** Lists page by Relay connections: `first` defaults to this (the gateway's cost estimate assumes it too)… */
export const DEFAULT_PAGE_SIZE = 20;
/** …and is capped at this. */
export const MAX_PAGE_SIZE = 100;
