// The body the gateway posts to a subgraph is JSON.stringify({ query, variables, operationName,
// extensions }) byte for byte, though the query's JSON is reused from one call to the next.
import { describe, expect, test } from "vitest";
import { requestBody } from "../src/subgraph-data-source.ts";

describe("requestBody", () => {
  const queries = [
    `query Q__users__0($representations:[_Any!]!){_entities(representations:$representations){...on User{name}}}`,
    `{ me { id "quoted" \\ back\\slash } }`,
    'query { note(text: "line\\nbreak ☃ \u2028") }',
  ];
  const variableSets = [
    undefined,
    {},
    { representations: [{ __typename: "User", id: "u1" }] },
    { a: null, b: "é\u0000" },
  ];
  const names = [undefined, "Q__users__0"];
  const extensionSets = [undefined, {}, { persisted: true }];
  test.each(queries)("matches JSON.stringify for %s, twice (the second from its cache)", (query) => {
    for (let round = 0; round < 2; round++)
      for (const variables of variableSets)
        for (const operationName of names)
          for (const extensions of extensionSets)
            expect(requestBody(query, variables, operationName, extensions)).toBe(
              JSON.stringify({ query, variables, operationName, extensions }),
            );
  });
});
