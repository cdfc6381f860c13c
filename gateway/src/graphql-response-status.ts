// GraphQL over HTTP: an answer in application/graphql-response+json that has no `data` is a
// request error and takes a 4xx. Apollo answers an automatic-persisted-query miss with 200
// whatever the client accepts; to a client that negotiated application/graphql-response+json
// (Apollo Client does) it is 404 here: the hash names no document this server knows. Clients that
// accept only application/json keep their 200, as that media type's rules ask.
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { GRAPHQL_RESPONSE_JSON, graphqlMediaType } from "@pooya/runtime";

export function graphqlResponseStatusPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ request, response }) {
          if (response.body.kind !== "single" || "data" in response.body.singleResult) return;
          const status = response.http.status ?? 200;
          if (status >= 300 || graphqlMediaType(request.http?.headers.get("accept")) !== GRAPHQL_RESPONSE_JSON) return;
          const codes = (response.body.singleResult.errors ?? []).map((error) => error.extensions?.code);
          // Any other answer without data already has its 4xx; one that does not is a request error.
          response.http.status = codes.includes("PERSISTED_QUERY_NOT_FOUND") ? 404 : 400;
        },
      };
    },
  };
}
