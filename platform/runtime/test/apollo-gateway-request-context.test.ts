// Apollo Server hands a gateway's executor (our gateway's Apollo Gateway, each subgraph's
// compiled executor) a request context whose `response.http.status` reads and writes the real
// response's status. patches/@apollo+server+5.5.1.patch gives that object its accessors from a
// class instead of an object literal with new closures per request: with the literal, V8 kept
// every request's data (its context, variables and result) alive through young-generation GCs
// until the next full GC: a quarter of the attendance subgraph's CPU when loaded directly
// (docs/architecture.md, "Requests, batching and errors"). This checks that the patch is applied and that the status
// still reaches the HTTP answer.
import { ApolloServer, HeaderMap } from "@apollo/server";
import type { GatewayGraphQLRequestContext, GatewayInterface } from "@apollo/server-gateway-interface";
import { buildSchema } from "graphql";
import { expect, it } from "vitest";

it("gives the executor a response whose status is a class's accessor and reaches the HTTP answer", async () => {
  const schema = buildSchema(`type Query { hello: String }`);
  const seen: GatewayGraphQLRequestContext[] = [];
  const gateway: GatewayInterface = {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: "" });
      return () => undefined;
    },
    async load() {
      return {
        async executor(requestContext) {
          seen.push(requestContext);
          requestContext.response!.http!.status = 418;
          return { data: { hello: "tea" } };
        },
      };
    },
    async stop() {},
  };
  const server = new ApolloServer({ gateway });
  await server.start();
  try {
    const answers = [];
    for (let i = 0; i < 2; i++) {
      answers.push(
        await server.executeHTTPGraphQLRequest({
          httpGraphQLRequest: {
            method: "POST",
            headers: new HeaderMap([["content-type", "application/json"]]),
            search: "",
            body: { query: "{ hello }" },
          },
          context: async () => ({}),
        }),
      );
    }
    expect(answers.map((a) => a.status)).toEqual([418, 418]);
    expect(answers.map((a) => (a.body.kind === "complete" ? JSON.parse(a.body.string) : undefined))).toEqual([
      { data: { hello: "tea" } },
      { data: { hello: "tea" } },
    ]);
    for (const requestContext of seen) {
      const http = requestContext.response!.http!;
      expect(http.status).toBe(418);
      // Not an own accessor of each object: it comes from one shared prototype.
      expect(Object.getOwnPropertyDescriptor(http, "status")).toBeUndefined();
    }
    expect(Object.getPrototypeOf(seen[0]!.response!.http)).toBe(Object.getPrototypeOf(seen[1]!.response!.http));
    expect(Object.getPrototypeOf(seen[0]!.response!.http)).not.toBe(Object.prototype);
  } finally {
    await server.stop();
  }
});
