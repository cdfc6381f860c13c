// Stock Apollo Gateway (the same @apollo/gateway and @apollo/server versions as ours, nothing
// added): the supergraph file, the default fetcher, the identity assertion passed through from
// the load generator (the subgraphs require one). PORT, SUPERGRAPH_PATH from the environment;
// REUSE_PORT=true: listens with SO_REUSEPORT, so several processes share the port.
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

process.env.APOLLO_TELEMETRY_DISABLED = "true";
class PassAssertion extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context.assertion) request.http.headers.set("x-identity-assertion", context.assertion);
  }
}
const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH, "utf8"),
  buildService: ({ url }) => new PassAssertion({ url }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT), host: "127.0.0.1", reusePort: process.env.REUSE_PORT === "true" },
  context: async ({ req }) => ({ assertion: req.headers["x-identity-assertion"] }),
});
console.log(`stock Apollo Gateway ready at ${url}`);
process.on("SIGTERM", () => server.stop().then(() => process.exit(0)));
