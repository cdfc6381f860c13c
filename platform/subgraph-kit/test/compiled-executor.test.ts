// The compiled executor (graphql-jit behind Apollo Server's gateway seam) answers exactly as
// graphql-js does, through Apollo Server's real request pipeline and a real subgraph schema:
// entity batches, fragments, variables, resolver errors, variables that do not coerce.
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { GraphQLError, type GraphQLResolveInfo } from "graphql";
import { gql } from "graphql-tag";
import { describe, expect, it } from "vitest";
import { selectColumns } from "../src/selection.ts";
import { compiledExecutor } from "../src/executor.ts";

const typeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Record {
    date: String!
    status: String!
    note: String
  }
  type User @key(fields: "id") {
    id: ID!
    records(limit: Int!): [Record!]!
    secret: String
  }
  type Query {
    user(id: ID!): User
  }
`;

interface Context {
  columns: string[];
}

const COLUMNS = { date: "date", status: "status", note: "note" };

function schema() {
  return buildSubgraphSchema([
    {
      typeDefs,
      resolvers: {
        Query: { user: (_: unknown, { id }: { id: string }) => ({ id }) },
        User: {
          __resolveReference: ({ id }: { id: string }) => (id === "missing" ? null : { id }),
          records: async (
            { id }: { id: string },
            { limit }: { limit: number },
            context: Context,
            info: GraphQLResolveInfo,
          ) => {
            context.columns.push(selectColumns(info, COLUMNS, ["user_id"]));
            return Array.from({ length: limit }, (_, i) => ({
              date: `2026-11-${String(i + 1).padStart(2, "0")}`,
              status: i % 2 ? "LATE" : "PRESENT",
              note: id === "u1" ? null : `n${i}`,
            }));
          },
          secret: ({ id }: { id: string }) => {
            if (id === "u2")
              throw new GraphQLError("Only the user themself can see this.", { extensions: { code: "FORBIDDEN" } });
            return `s-${id}`;
          },
        },
      },
    },
  ]);
}

async function servers() {
  const compiled = compiledExecutor(schema());
  const common = { plugins: [ApolloServerPluginCacheControlDisabled()], includeStacktraceInErrorResponses: false };
  const interpreted = new ApolloServer<Context>({ schema: schema(), ...common });
  const jit = new ApolloServer<Context>({ gateway: compiled.gateway, ...common });
  await Promise.all([interpreted.start(), jit.start(), compiled.ready()]);
  return { interpreted, jit, compiled };
}

async function run(server: ApolloServer<Context>, query: string, variables: Record<string, unknown>) {
  const context: Context = { columns: [] };
  const response = await server.executeOperation({ query, variables }, { contextValue: context });
  if (response.body.kind !== "single") throw new Error("incremental answer");
  return { status: response.http.status ?? 200, result: response.body.singleResult, columns: context.columns };
}

const ENTITIES = `
  query($representations: [_Any!]!, $limit: Int!) {
    _entities(representations: $representations) {
      __typename
      ... on User { id secret records(limit: $limit) { ...day } }
    }
  }
  fragment day on Record { date status __typename }
`;

describe("compiled executor", () => {
  it("answers an entity batch as graphql-js does, before and after compiling, errors and nulls included", async () => {
    const { interpreted, jit, compiled } = await servers();
    const variables = {
      representations: ["u1", "u2", "missing", "u3"].map((id) => ({ __typename: "User", id })),
      limit: 3,
    };
    const expected = await run(interpreted, ENTITIES, variables);
    expect(expected.result.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    for (let use = 1; use <= 4; use++) {
      const actual = await run(jit, ENTITIES, variables);
      expect(actual.result).toEqual(expected.result);
      expect(actual.status).toBe(expected.status);
      expect(compiled.compiledCount()).toBe(use >= 2 ? 1 : 0); // compiled on its second use
      // Only the selected columns (and the keys), worked out once per field of the operation.
      expect(new Set(actual.columns)).toEqual(new Set(["user_id, date, status"]));
    }
    await Promise.all([interpreted.stop(), jit.stop()]);
  });

  it("a variable that does not coerce is BAD_USER_INPUT with status 400, compiled or not", async () => {
    const { interpreted, jit } = await servers();
    const query = `query($id: ID!, $limit: Int!) { user(id: $id) { records(limit: $limit) { date } } }`;
    await run(jit, query, { id: "u1", limit: 1 });
    await run(jit, query, { id: "u1", limit: 1 }); // compiled now
    const expected = await run(interpreted, query, { id: "u1", limit: "many" });
    const actual = await run(jit, query, { id: "u1", limit: "many" });
    expect(expected.status).toBe(400);
    expect(actual.status).toBe(400);
    expect(actual.result).toEqual(expected.result);
    expect(actual.result.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    await Promise.all([interpreted.stop(), jit.stop()]);
  });
});
