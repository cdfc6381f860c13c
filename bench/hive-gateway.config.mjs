// Hive Gateway for the benchmark: the identity assertion passed through from the load
// generator to the subgraphs (they require one); in-flight deduplication off, inbound (its
// default) and towards the subgraphs (on by default in its HTTP executor): identical concurrent
// requests would otherwise share one subgraph call, and the comparison would not be like for like.
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({
      "x-identity-assertion": request.headers.get("x-identity-assertion") ?? "",
    }),
  },
  inboundInflightRequestDeduplication: false,
  transportEntries: { "*.http": { options: { deduplicateInflightRequests: false } } },
  maskedErrors: false,
  logging: "error",
});
