// Tells the gateway at once which entities a request changed, in Apollo Router's shape for
// invalidation by subgraph response: the answer to a request whose writes committed domain
// events carries `extensions.invalidation`, one entry per entity those events change
// (`{ kind: "entity", subgraph, type, key: { id } }`). The events themselves evict the same
// entities a little later everywhere else (other gateway replicas, writes outside GraphQL).
import type { ApolloServerPlugin } from "@apollo/server";
import { collectWrittenEntities, writtenEntities } from "@pooya/events";

export interface EntityInvalidation {
  kind: "entity";
  subgraph: string;
  type: string;
  key: { id: string };
}

/** Runs a GraphQL HTTP handler in a collection of the entities its writes change. */
export const collectingWrittenEntities = <A extends unknown[], R>(handler: (...args: A) => R) =>
  function (this: unknown, ...args: A): R {
    return collectWrittenEntities(() => handler.apply(this, args));
  };

/** Adds `extensions.invalidation` to the answer of a request that committed events naming entities. */
export function invalidationPlugin(subgraph: string): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          const entities = writtenEntities();
          if (!entities?.length) return;
          const invalidation: EntityInvalidation[] = entities.map(({ type, id }) => ({
            kind: "entity",
            subgraph,
            type,
            key: { id },
          }));
          const result = response.body.kind === "single" ? response.body.singleResult : response.body.initialResult;
          result.extensions = { ...result.extensions, invalidation };
        },
      };
    },
  };
}
