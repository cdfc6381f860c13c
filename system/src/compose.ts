// Docker Compose, generated from the registry (npm run compose:generate; a test fails while a file
// differs): docker-compose.yml, its host-network override docker/compose.local.yml (for
// scripts/verify-containers.sh), the Prometheus configuration of its observability profile and
// .env.example. Every subgraph gets its database and role, its image, its calls' and callers'
// addresses, its keys' volume and its place in the start order without anyone writing them.
// The same per-service facts as the Kubernetes manifests (k8s.ts): ports, calls and callers, the
// access-token issuer, the services that sign their calls.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { envShapeOf, serviceUrlVariable, type AnyServiceDescriptor } from "@pooya/runtime";
import { serviceSigningKeysVariable } from "@pooya/identity";
import { GATEWAY, SUBGRAPHS, accessTokenIssuer } from "./registry.ts";
import { serviceTokenSigners } from "./k8s.ts";
import { buildTargets, entryOf } from "./production-build.ts";
import { PROJECT_ROOT } from "./prisma-cli.ts";

const GENERATED =
  "# Generated from system/src/registry.ts by `npm run compose:generate` (system/src/compose.ts); do not edit.";
const upper = (name: string) => name.toUpperCase();
const dbPasswordVariable = (name: string) => `${upper(name)}_DB_PASSWORD`;

/** Whom a subgraph exchanges calls with: the services it calls, then those that call it (it reads their keys). */
function peersOf(service: AnyServiceDescriptor): { calls: string[]; callers: string[] } {
  const calls = [...service.calls];
  const callers = SUBGRAPHS.filter(
    (s) => (s.calls as readonly string[]).includes(service.name) && !calls.includes(s.name),
  ).map((s) => s.name);
  return { calls, callers };
}

const portOf = (name: string) => [GATEWAY, ...SUBGRAPHS].find((s) => s.name === name)!.defaultPort;
const hasVariable = (service: AnyServiceDescriptor, name: string) => name in envShapeOf(service, {});
/** Mail goes out from the services that have a mail server variable (to Mailpit here). */
const sendsMail = (service: AnyServiceDescriptor) => hasVariable(service, "SMTP_URL");
/** A subgraph that only consumes events (it publishes none) waits for the broker before it starts. */
const waitsForBroker = (service: AnyServiceDescriptor) =>
  hasVariable(service, "NATS_URL") && !service.publishes?.events;

/** The files `npm run compose:generate` writes, relative to the project root → content. */
export function renderCompose(): Record<string, string> {
  return {
    "docker-compose.yml": composeFile(),
    "docker/compose.local.yml": localComposeFile(),
    "deploy/observability/prometheus.yml": prometheusFile(),
    ".env.example": envExample(),
  };
}

export async function writeCompose(root = PROJECT_ROOT): Promise<string[]> {
  const files = renderCompose();
  for (const [file, content] of Object.entries(files)) await writeFile(join(root, file), content);
  return Object.keys(files);
}

function wrap(words: string[], first: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of words) {
    if (line.length + word.length + 1 > width && line.trim() !== "#") {
      lines.push(line);
      line = indent;
    }
    line += (line.endsWith(" ") ? "" : " ") + word;
  }
  lines.push(line);
  return lines;
}

/** A service's `build:`: the Dockerfile's `service` target with its folder, port and entry file. */
export function imageBuildArgs(name: string): { SERVICE: string; PORT: string; ENTRY: string } {
  const target = buildTargets().find((t) => t.name === name);
  if (!target) throw new Error(`no build target named ${name}`);
  return { SERVICE: name, PORT: String(portOf(name)), ENTRY: entryOf(target) };
}

function build(name: string): string[] {
  const args = Object.entries(imageBuildArgs(name)).map(
    ([key, value]) => `${key}: ${key === "PORT" ? `"${value}"` : value}`,
  );
  return ["    build:", "      <<: *service-build", `      args: { <<: *base-images, ${args.join(", ")} }`];
}

function composeFile(): string {
  const issuer = accessTokenIssuer().name;
  const signers = serviceTokenSigners();
  const secrets = [
    "POSTGRES_PASSWORD",
    ...SUBGRAPHS.map((s) => dbPasswordVariable(s.name)),
    "POOYA_ADMIN_EMAIL",
    "POOYA_ADMIN_PASSWORD",
  ];
  const out: string[] = [
    GENERATED,
    "# Production-like setup: one Postgres server, one database and one role per service, an image",
    "# per service from docker/Dockerfile, health checks on /readyz, the gateway on port 4000; events",
    "# through NATS JetStream, mail to Mailpit (its inbox at http://localhost:8025).",
    "# Secrets come from the environment (or an .env file beside this one, never committed):",
    ...wrap(
      secrets.map((s, i) => (i < secrets.length - 1 ? `${s},` : `${s}.`)),
      "#   ",
      "#   ",
    ),
    "# Signing keys (users' token keys, each calling service's service-token keys) are generated at",
    `# first start into the service's volume, or come from ${upper(issuer)}_SIGNING_KEYS, <NAME>_SERVICE_SIGNING_KEYS.`,
    "# Base images are build arguments / variables (NODE_IMAGE, RUNTIME_IMAGE, POSTGRES_IMAGE,",
    "# NATS_IMAGE, MAILPIT_IMAGE) for a local mirror; scripts/verify-containers.sh runs this file on a",
    "# machine with no registry (locally built bases, host networking: docker/compose.local.yml).",
    "",
    "# Every service's image is the Dockerfile's `service` target, told which service by its arguments.",
    "x-service-build: &service-build",
    "  context: .",
    "  dockerfile: docker/Dockerfile",
    "  target: service",
    "",
    "x-base-images: &base-images",
    "  NODE_IMAGE: ${NODE_IMAGE:-node:24-bookworm-slim}",
    "  RUNTIME_IMAGE: ${RUNTIME_IMAGE:-node:24-bookworm-slim}",
    "",
    "x-restart: &restart unless-stopped",
    "",
    "x-subgraph-env: &subgraph-env",
    `  GATEWAY_JWKS_URL: http://${GATEWAY.name}:${GATEWAY.defaultPort}/.well-known/jwks.json`,
    "  # Events between services go through JetStream; while it is unreachable, over the services' feeds.",
    "  NATS_URL: ${NATS_URL:-nats://nats:4222}",
    "  # Traces: set OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318 with the observability profile.",
    "  OTEL_EXPORTER_OTLP_ENDPOINT: ${OTEL_EXPORTER_OTLP_ENDPOINT:-}",
    "",
    "services:",
    "  postgres:",
    "    image: ${POSTGRES_IMAGE:-postgres:15-bookworm}",
    "    restart: *restart",
    "    environment:",
    "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}",
    "      # A database and a role for each (docker/postgres/init-service-databases.sh), passwords below.",
    `      SERVICE_DATABASES: ${SUBGRAPHS.map((s) => s.name).join(" ")}`,
    ...SUBGRAPHS.map((s) => dbPasswordVariable(s.name)).map(
      (variable) => `      ${variable}: \${${variable}:?set ${variable}}`,
    ),
    "    volumes:",
    "      - postgres-data:/var/lib/postgresql/data",
    "      - ./docker/postgres:/docker-entrypoint-initdb.d:ro",
    "    healthcheck:",
    '      test: ["CMD-SHELL", "pg_isready -U postgres"]',
    "      interval: 5s",
    "      timeout: 3s",
    "      retries: 20",
    "",
    "  nats:",
    "    image: ${NATS_IMAGE:-nats:2.11-alpine}",
    "    restart: *restart",
    '    command: ["-js", "-sd", "/data", "-m", "8222"]   # JetStream on, stored in the volume; monitoring on 8222',
    "    volumes:",
    "      - nats-data:/data",
    "    healthcheck:",
    '      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8222/healthz?js-enabled-only=true"]',
    "      interval: 5s",
    "      timeout: 3s",
    "      retries: 20",
    "",
    "  mailpit:",
    "    image: ${MAILPIT_IMAGE:-axllent/mailpit:v1.27}",
    "    restart: *restart",
    "    ports:",
    '      - "${MAILPIT_UI_PORT:-8025}:8025"   # the caught mails, in a browser',
    "",
  ];
  const url = (name: string) => `      ${serviceUrlVariable(name)}: http://${name}:${portOf(name)}`;
  SUBGRAPHS.forEach((service, index) => {
    const { calls, callers } = peersOf(service);
    const signs = signers.includes(service.name);
    out.push(
      `  ${service.name}:`,
      ...build(service.name),
      "    restart: *restart",
      "    environment:",
      "      <<: *subgraph-env",
      `      PORT: "${service.defaultPort}"`,
      "      # Separate variables, not a URL: the password may hold any characters (/, #, +, @ …).",
      "      PGHOST: postgres",
      `      PGDATABASE: ${service.name}`,
      `      PGUSER: ${service.name}_service`,
      `      PGPASSWORD: \${${dbPasswordVariable(service.name)}}`,
    );
    if (service.name === issuer) {
      out.push(
        "      POOYA_ADMIN_EMAIL: ${POOYA_ADMIN_EMAIL:-}",
        "      POOYA_ADMIN_PASSWORD: ${POOYA_ADMIN_PASSWORD:-}",
        `      ${upper(issuer)}_SIGNING_KEYS: \${${upper(issuer)}_SIGNING_KEYS:-}`,
      );
    }
    out.push(...calls.map(url));
    const keysVariable = serviceSigningKeysVariable(service.name);
    if (signs) out.push(`      ${keysVariable}: \${${keysVariable}:-}`);
    if (callers.length) {
      if (!signs) out.push("      # Its callers: it verifies their service tokens with the keys they publish.");
      out.push(...callers.map(url));
    }
    if (sendsMail(service)) out.push("      SMTP_URL: ${SMTP_URL:-smtp://mailpit:1025}");
    if (hasVariable(service, "MAIL_FROM")) out.push("      MAIL_FROM: ${MAIL_FROM:-Pooya <no-reply@pooya.local>}");
    const keys =
      service.name === issuer ? "signing key survives" : signs ? "service-token key survives" : "keys survive";
    out.push(
      "    volumes:",
      `      - ${service.name}-keys:/data   # the generated ${keys} restarts`,
      "    depends_on:",
      "      postgres: { condition: service_healthy }",
      ...(waitsForBroker(service) ? ["      nats: { condition: service_healthy }"] : []),
      ...calls.map((name) => `      ${name}: { condition: service_healthy }`),
    );
    if (index === 0) {
      out.push(
        "    healthcheck: &readyz",
        '      test: ["CMD", "node", "-e", "fetch(\'http://127.0.0.1:\'+process.env.PORT+\'/readyz\')' +
          '.then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]',
        "      interval: 5s",
        "      timeout: 3s",
        "      retries: 30",
        "      start_period: 10s",
      );
    } else out.push("    healthcheck: *readyz");
    out.push("");
  });
  const issuerPath = accessTokenIssuer().keysPath;
  out.push(
    `  ${GATEWAY.name}:`,
    ...build(GATEWAY.name),
    "    restart: *restart",
    "    environment:",
    `      PORT: "${GATEWAY.defaultPort}"`,
    "      NODE_ENV: ${NODE_ENV:-production}",
    "      # production turns Apollo Sandbox, GraphiQL and introspection off; EXPLORER=on brings them back.",
    "      EXPLORER: ${EXPLORER:-}",
    "      # off | log | enforce: which operations run (docs/web.md#trusted-documents).",
    "      TRUSTED_DOCUMENTS: ${TRUSTED_DOCUMENTS:-off}",
    '      APOLLO_TELEMETRY_DISABLED: "true"',
    ...SUBGRAPHS.map((s) => url(s.name)),
    `      ACCESS_TOKEN_JWKS_URL: http://${issuer}:${portOf(issuer)}${issuerPath}`,
    "      # Domain events heard live (its cache's invalidation): JetStream's subjects, else the feeds.",
    "      NATS_URL: ${NATS_URL:-nats://nats:4222}",
    `      ${serviceSigningKeysVariable(GATEWAY.name)}: \${${serviceSigningKeysVariable(GATEWAY.name)}:-}`,
    "      OTEL_EXPORTER_OTLP_ENDPOINT: ${OTEL_EXPORTER_OTLP_ENDPOINT:-}",
    "    ports:",
    `      - "\${GATEWAY_PORT:-${GATEWAY.defaultPort}}:${GATEWAY.defaultPort}"`,
    "    depends_on:",
    ...SUBGRAPHS.map((s) => `      ${s.name}: { condition: service_healthy }`),
    "    healthcheck: *readyz",
    "",
    "  # docker compose --profile observability up: metrics, traces and a dashboard (docs/observability.md).",
    "  prometheus:",
    "    image: ${PROMETHEUS_IMAGE:-prom/prometheus:v3.7.3}",
    "    profiles: [observability]",
    "    volumes:",
    "      - ./deploy/observability/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
    "    ports:",
    '      - "${PROMETHEUS_PORT:-9090}:9090"',
    "",
    "  jaeger:",
    "    image: ${JAEGER_IMAGE:-jaegertracing/jaeger:2.11.0}",
    "    profiles: [observability]",
    "    ports:",
    '      - "${JAEGER_UI_PORT:-16686}:16686"   # UI',
    '      - "${OTLP_HTTP_PORT:-4318}:4318"     # OTLP/HTTP receiver',
    "",
    "  grafana:",
    "    image: ${GRAFANA_IMAGE:-grafana/grafana:12.2.1}",
    "    profiles: [observability]",
    "    environment:",
    '      GF_AUTH_ANONYMOUS_ENABLED: "true"',
    "      GF_AUTH_ANONYMOUS_ORG_ROLE: Viewer",
    "      GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: /var/lib/grafana/dashboards/pooya.json",
    "    volumes:",
    "      - ./deploy/observability/grafana/provisioning:/etc/grafana/provisioning:ro",
    "      - ./deploy/observability/grafana/dashboards:/var/lib/grafana/dashboards:ro",
    "    ports:",
    '      - "${GRAFANA_PORT:-3000}:3000"',
    "    depends_on: [prometheus, jaeger]",
    "",
    "volumes:",
    "  postgres-data:",
    ...SUBGRAPHS.map((s) => `  ${s.name}-keys:`),
    "  nats-data:",
    "",
  );
  return out.join("\n");
}

function localComposeFile(): string {
  const issuer = accessTokenIssuer();
  const url = (name: string) => `      ${serviceUrlVariable(name)}: http://127.0.0.1:${portOf(name)}`;
  const out: string[] = [
    GENERATED,
    "# docker-compose.yml on a machine that reaches no image registry and runs dockerd without a",
    "# bridge (scripts/verify-containers.sh): locally built base images, host networking, so every",
    "# address becomes 127.0.0.1 and Postgres and NATS move to ports the machine's own do not use.",
    "# Mailpit has no local image: notifications logs its mails here (SMTP_URL empty).",
    "x-local-network: &local-network",
    "  network_mode: host",
    "",
    "x-local-subgraph-env: &local-subgraph-env",
    `  GATEWAY_JWKS_URL: http://127.0.0.1:${GATEWAY.defaultPort}/.well-known/jwks.json`,
    "  NATS_URL: nats://127.0.0.1:54222",
    "  PGHOST: 127.0.0.1",
    '  PGPORT: "55432"',
    "",
    "services:",
    "  postgres:",
    "    <<: *local-network",
    '    command: ["-p", "55432"]',
    "    healthcheck:",
    '      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -p 55432 -U postgres"]',
    "",
    "  nats:",
    "    <<: *local-network",
    '    command: ["-js", "-sd", "/data", "-a", "127.0.0.1", "-p", "54222", "-m", "58222"]',
    "    healthcheck:",
    `      test: ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/58222 && ` +
      `printf 'GET /healthz?js-enabled-only=true HTTP/1.0\\\\r\\\\n\\\\r\\\\n' >&3 && grep -q '\\"ok\\"' <&3"]`,
    "",
    "  mailpit:",
    '    profiles: ["mailpit"]',
    "",
  ];
  for (const service of SUBGRAPHS) {
    const { calls, callers } = peersOf(service);
    out.push(
      `  ${service.name}:`,
      "    <<: *local-network",
      "    build: { network: host }",
      "    environment:",
      "      <<: *local-subgraph-env",
      ...[...calls, ...callers].map(url),
      ...(sendsMail(service) ? ['      SMTP_URL: ""'] : []),
      "",
    );
  }
  out.push(
    `  ${GATEWAY.name}:`,
    "    <<: *local-network",
    "    build: { network: host }",
    "    environment:",
    ...SUBGRAPHS.map((s) => url(s.name)),
    `      ACCESS_TOKEN_JWKS_URL: http://127.0.0.1:${portOf(issuer.name)}${issuer.keysPath}`,
    "      NATS_URL: nats://127.0.0.1:54222",
    "",
  );
  return out.join("\n");
}

function prometheusFile(): string {
  const targets = [GATEWAY, ...SUBGRAPHS].map((s) => `"${s.name}:${s.defaultPort}"`).join(", ");
  return [
    GENERATED,
    "# Prometheus for `docker compose --profile observability up`: every service's own /metrics.",
    "global:",
    "  scrape_interval: 10s",
    "  evaluation_interval: 10s",
    "scrape_configs:",
    "  - job_name: pooya",
    "    static_configs:",
    `      - targets: [${targets}]`,
    "",
  ].join("\n");
}

function envExample(): string {
  return [
    GENERATED,
    "# Copy to .env (git-ignored) for docker compose, and replace every value. Passwords may hold any",
    "# characters (they reach Postgres as PGPASSWORD, not inside a URL): `openssl rand -base64 24` is fine.",
    "POSTGRES_PASSWORD=replace-me",
    ...SUBGRAPHS.map((s) => `${dbPasswordVariable(s.name)}=replace-me-too`),
    "POOYA_ADMIN_EMAIL=admin@example.edu",
    "POOYA_ADMIN_PASSWORD=replace-me-please",
    "# Traces (docker compose --profile observability up): send them to the Jaeger of that profile.",
    "# OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318",
    "# Mail goes to the Mailpit of the compose file (http://localhost:8025); a real server instead:",
    "# SMTP_URL=smtp://user:password@smtp.example.edu:587",
    "# MAIL_FROM=Pooya <no-reply@example.edu>",
    "# The gateway runs with NODE_ENV=production: no Apollo Sandbox, no GraphiQL, no introspection.",
    "# To explore the API in a browser (Sandbox on http://localhost:4000/graphql, GraphiQL offline on",
    "# http://localhost:4000/graphiql), turn the explorer on. The web panel is at http://localhost:4000/.",
    "# EXPLORER=on",
    "# Only the operations of the web client and operations/ may run (400 PERSISTED_QUERY_NOT_LISTED",
    "# for others; explorers off): enforce. Log the others first: log. Default: off.",
    "# TRUSTED_DOCUMENTS=log",
    "",
  ].join("\n");
}
