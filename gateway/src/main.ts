import { readFileSync } from "node:fs";
import { portFromEnv, signingKeyFromJwk, stopOnSignals } from "@pooya/platform";
import { startGateway } from "./gateway.ts";
import { SUBGRAPHS, SUPERGRAPH_PATH } from "./subgraphs.ts";

const env = process.env;
/** USERS_URL, COURSES_URL, …: a subgraph's base URL (http://users:4001); GraphQL is at /graphql. */
const urlOf = (name: string) => env[`${name.toUpperCase()}_URL`];
const gateway = await startGateway({
  port: portFromEnv("PORT", 4000),
  host: env.HOST ?? "0.0.0.0",
  supergraphSdl: readFileSync(env.SUPERGRAPH_PATH ?? SUPERGRAPH_PATH, "utf8"),
  subgraphUrls: Object.fromEntries(SUBGRAPHS.flatMap((s) => (urlOf(s.name) ? [[s.name, new URL("/graphql", urlOf(s.name)).toString()]] : []))),
  accessTokens: {
    jwksUrl: env.USERS_JWKS_URL ?? new URL("/.well-known/jwks.json", urlOf("users") ?? "http://localhost:4001").toString(),
    issuer: env.TOKEN_ISSUER ?? "pooya-users",
    audience: env.TOKEN_AUDIENCE ?? "pooya-api",
  },
  signingKey: env.GATEWAY_SIGNING_KEY ? await signingKeyFromJwk(JSON.parse(env.GATEWAY_SIGNING_KEY)) : undefined,
  production: env.NODE_ENV === "production",
  corsOrigins: env.CORS_ORIGINS ? env.CORS_ORIGINS.split(",").map((o) => o.trim()) : "*",
});
console.log(`gateway ready at ${gateway.graphqlUrl}`);
stopOnSignals(gateway.stop);
