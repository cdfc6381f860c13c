// Per-client limits on the operations anyone may call without a token — each one costs a
// password hash or a token exchange — counted by the client's address (an IPv6 one by its /64)
// before any subgraph is called. Over the limit: HTTP 429, Retry-After, TOO_MANY_REQUESTS.
import { GraphQLError, Kind, type DocumentNode, type SelectionSetNode } from "graphql";
import { HeaderMap, type ApolloServerPlugin, type BaseContext } from "@apollo/server";
import { clientAddressKey, createRateLimitStore, type Logger, type RateLimit } from "@pooya/runtime";

/** The root fields of the operation, one entry per occurrence (aliases count), fragments included. */
export function rootFields(selectionSet: SelectionSetNode, document: DocumentNode, seen = new Set<string>()): string[] {
  return selectionSet.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) return [selection.name.value];
    if (selection.kind === Kind.INLINE_FRAGMENT) return rootFields(selection.selectionSet, document, seen);
    if (seen.has(selection.name.value)) return [];
    seen.add(selection.name.value);
    const fragment = document.definitions.find(
      (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
    );
    return fragment?.kind === Kind.FRAGMENT_DEFINITION ? rootFields(fragment.selectionSet, document, seen) : [];
  });
}

export function tooManyRequests(message: string, retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: "TOO_MANY_REQUESTS",
      retryAfterSeconds,
      http: { status: 429, headers: new HeaderMap([["retry-after", String(retryAfterSeconds)]]) },
    },
  });
}

/**
 * Each limited root field's per-client limit (`perMinute`: field → requests per minute), counted
 * in Redis when `redisUrl` is set (shared by the replicas), else in this process.
 */
export function createClientLimits(perMinute: Record<string, number>, options: { redisUrl?: string; log: Logger }) {
  const store = createRateLimitStore({ redisUrl: options.redisUrl, prefix: "pooya:gateway", log: options.log });
  const limits: Record<string, RateLimit> = Object.fromEntries(
    Object.entries(perMinute).map(([field, points]) => [
      field,
      store.limit(`client-${field}`, { points, windowSeconds: 60 }),
    ]),
  );
  return { limits, close: () => store.close() };
}

/** `limits`: root field name → its per-client limit. */
export function clientLimitsPlugin<TContext extends BaseContext & { clientIp: string }>(
  limits: Record<string, RateLimit>,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, contextValue }) {
          if (!operation) return;
          for (const field of rootFields(operation.selectionSet, document)) {
            const limit = limits[field];
            if (!limit) continue;
            const decision = await limit.consume(clientAddressKey(contextValue.clientIp));
            if (!decision.allowed) {
              throw tooManyRequests(
                `Too many ${field} requests from your address; try again in ${decision.retryAfterSeconds} s.`,
                decision.retryAfterSeconds,
              );
            }
          }
        },
      };
    },
  };
}

/** A TOO_MANY_REQUESTS from a subgraph (an account's sign-in limit) is HTTP 429 for the client too. */
export function tooManyRequestsStatusPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== "single") return;
          if (response.body.singleResult.errors?.some((e) => e.extensions?.code === "TOO_MANY_REQUESTS"))
            response.http.status = 429;
        },
      };
    },
  };
}
