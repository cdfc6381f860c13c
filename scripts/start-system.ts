// npm start (through scripts/start.ts): the whole system, zero setup. Embedded Postgres per service unless
// *_DATABASE_URL are set; demo term seeded on first start; Ctrl-C stops everything.
// Tracing first: it instruments node:http as the rest loads (see platform/runtime/src/tracing.ts).
import { startSubgraphTracing } from "@pooya/subgraph-kit/tracing";

const tracing = await startSubgraphTracing("pooya");
const { ConfigError, describeStartupFailure } = await import("@pooya/runtime");
const { DEMO_ADMIN, DEMO_PASSWORDS, SEED_SIZE, ensureWebBuilt, seedDemoTerm, startSystem } =
  await import("@pooya/system");

// The web client is built on first start and whenever its sources changed (web/dist).
await ensureWebBuilt({ log: (line) => console.log(line) }).catch((error) =>
  console.error(`the web client could not be built (${(error as Error).message}); the API runs without it`),
);

let system: Awaited<ReturnType<typeof startSystem>>;
try {
  system = await startSystem();
} catch (error) {
  if (error instanceof ConfigError)
    console.error(`npm start cannot start: ${error.message}\nSee docs/configuration.md for every variable.`);
  else console.error(`npm start could not start: ${describeStartupFailure(error).message}`);
  process.exit(1);
}
// Ctrl-C stops in order (requests in flight are answered, events not applied stay in their
// outboxes) within SHUTDOWN_TIMEOUT_MS. One Ctrl-C can arrive more than once (from the
// terminal, from npm, from scripts/start.ts): only the first counts.
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  const since = Date.now();
  console.log("stopping…");
  setTimeout(() => {
    console.error(
      `not stopped within SHUTDOWN_TIMEOUT_MS (${system.shutdownTimeoutMs} ms): exiting while ${system.stopping() ?? "tracing"} was still stopping`,
    );
    process.exit(1);
  }, system.shutdownTimeoutMs);
  await system.stop();
  await tracing?.shutdown();
  console.log(`stopped (${((Date.now() - since) / 1000).toFixed(1)} s)`);
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

console.log(`\nPooya Federation is up (ready in ${(system.readyInMs / 1000).toFixed(1)} s)`);
console.log(`  Web panel:        ${system.gateway.url}/  (open in a browser)`);
console.log(`  GraphQL endpoint: ${system.gateway.graphqlUrl}`);
console.log(`  Apollo Sandbox:   ${system.gateway.graphqlUrl}  (open in a browser; needs Apollo's CDN)`);
console.log(`  GraphiQL:         ${system.gateway.url}/graphiql  (works offline)`);
console.log(`  Subscriptions:    ${system.gateway.graphqlUrl.replace(/^http/, "ws")}  (graphql-transport-ws)`);
console.log(
  `  Events:           ${process.env.NATS_URL ? `NATS JetStream at ${process.env.NATS_URL}` : "each service's event feed (set NATS_URL for NATS JetStream)"}`,
);
console.log(
  `  Mail:             ${process.env.SMTP_URL ? "sent through SMTP_URL" : "written to the log (set SMTP_URL to send)"}`,
);

// Demo data only where it cannot land in a real deployment by accident: embedded Postgres,
// or real Postgres when POOYA_SEED=true says so.
if (system.admin && system.seed) {
  await seedDemoTerm({
    gatewayUrl: system.gateway.graphqlUrl,
    admin: system.admin,
    log: (line) => console.log(`  ${line}`),
  });
}
if (system.admin) {
  console.log("\nSign in with (mutation login):");
  console.log(
    `  staff    ${system.admin.email} / ${system.admin === DEMO_ADMIN ? DEMO_ADMIN.password : "(the POOYA_ADMIN_PASSWORD you set)"}`,
  );
  if (system.seed) {
    console.log(
      `  teacher  teacher1@pooya.local / ${DEMO_PASSWORDS.teacher}   (teacher1…teacher${SEED_SIZE.teachers})`,
    );
    console.log(
      `  student  student1@pooya.local / ${DEMO_PASSWORDS.student}   (student1…student${SEED_SIZE.students})`,
    );
  }
}
console.log("\nsystem ready (Ctrl-C stops it)");
