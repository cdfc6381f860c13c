// One client request is one trace across the federation: the services run as separate
// processes, export OTLP/HTTP JSON to a receiver this test runs, and one query that touches
// users, courses, attendance and food (with the client's own traceparent) comes back as spans
// from all five under the client's trace id, with their parent links intact.
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { createServer, type Server } from "node:http";
import { randomBytes } from "node:crypto";
import { trace } from "@opentelemetry/api";
import { startTracing } from "@pooya/runtime/tracing";
import { postGraphQL } from "../src/harness.ts";
import { PROCESS_ADMIN, startProcesses, type Processes } from "../src/processes.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  service: string;
}

const received: OtlpSpan[] = [];
let receiver: Server;
let system: Processes;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      if (request.url === "/v1/traces") {
        const payload = JSON.parse(body) as {
          resourceSpans: {
            resource: { attributes: { key: string; value: { stringValue?: string } }[] };
            scopeSpans: { spans: Omit<OtlpSpan, "service">[] }[];
          }[];
        };
        for (const resourceSpans of payload.resourceSpans) {
          const service =
            resourceSpans.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "?";
          for (const scope of resourceSpans.scopeSpans)
            for (const span of scope.spans) received.push({ ...span, service });
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const { port } = receiver.address() as { port: number };
  system = await startProcesses({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
    },
  });
}, 60_000);

afterAll(async () => {
  await system?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe("with OTEL_EXPORTER_OTLP_ENDPOINT", () => {
  test("a cross-subgraph query is one trace with spans from the gateway and every subgraph it touched, parents intact, logs correlated", async () => {
    const call = (
      query: string,
      token?: string,
      variables?: Record<string, unknown>,
      headers?: Record<string, string>,
    ) => postGraphQL(system.gatewayUrl, { query, token, variables, headers });
    const admin = (
      await call(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, undefined, {
        e: PROCESS_ADMIN.email,
        p: PROCESS_ADMIN.password,
      })
    ).data?.login.accessToken;
    const teacherId = (
      await call(
        `mutation { createUser(input: { email: "tr@uni.example", password: "password 123", name: "Tracer", role: TEACHER }) { id } }`,
        admin,
      )
    ).data?.createUser.id;
    const courseId = (
      await call(
        `mutation($t: ID!) { createCourse(input: { code: "TRACE-1", title: "Traces", capacity: 3, teacherId: $t }) { id } }`,
        admin,
        { t: teacherId },
      )
    ).data?.createCourse.id;
    expect(courseId).toBeTruthy();

    const traceId = randomBytes(16).toString("hex");
    const clientSpanId = randomBytes(8).toString("hex");
    const requestId = `traced-${Date.now()}`;
    const r = await call(
      `query($c: ID!) { course(id: $c) { code attendanceRate teacher { name wallet { balance } } } }`,
      admin,
      { c: courseId },
      { traceparent: `00-${traceId}-${clientSpanId}-01`, "x-request-id": requestId },
    );
    expect(r.errors).toBeUndefined();

    // Spans arrive in batches from five processes, the gateway's server span last (it ends
    // last), so the checks are retried until they all hold or 10 s pass; a timeout reports the
    // last check that failed.
    await vi.waitFor(
      () => {
        const spans = received.filter((s) => s.traceId === traceId);
        const services = new Set(spans.map((s) => s.service));
        expect([...services].sort()).toEqual(["attendance", "courses", "food", "gateway", "users"]);

        const byId = new Map(spans.map((s) => [s.spanId, s]));
        // The gateway's server span continues the client's trace.
        const gatewayServer = spans.find(
          (s) => s.service === "gateway" && s.kind === 2 && s.parentSpanId === clientSpanId,
        );
        expect(gatewayServer?.name).toBe("POST /graphql");
        // Apollo Gateway's own planning and fetch spans hang under it.
        expect(spans.some((s) => s.service === "gateway" && s.name === "gateway.plan")).toBe(true);
        expect(spans.some((s) => s.service === "gateway" && s.name === "gateway.fetch")).toBe(true);
        for (const name of ["users", "courses", "attendance", "food"]) {
          const server = spans.find((s) => s.service === name && s.kind === 2 && s.name === "POST /graphql");
          expect(server, `${name} has a server span`).toBeDefined();
          const parent = byId.get(server!.parentSpanId!);
          expect(parent?.service, `${name}'s server span hangs under a gateway client span`).toBe("gateway");
          expect(parent?.kind).toBe(3); // CLIENT
          // Every span of a subgraph leads up to the gateway's server span.
          let node: OtlpSpan | undefined = server;
          for (let hops = 0; node && node !== gatewayServer && hops < 20; hops += 1)
            node = byId.get(node.parentSpanId ?? "");
          expect(
            spans
              .filter((s) => s.service === name)
              .every((s) => byId.has(s.parentSpanId ?? "") || s.parentSpanId === clientSpanId),
          ).toBe(true);
          expect(node).toBe(gatewayServer);
          // Its resolvers and its database work are traced too.
          expect(
            spans.some((s) => s.service === name && s.name.startsWith("graphql.resolve ")),
            `${name} has resolver spans`,
          ).toBe(true);
          // Prisma's statements, or a batch read straight on the pool (`SELECT <table>`).
          expect(
            spans.some((s) => s.service === name && (s.name.startsWith("prisma:") || s.name.startsWith("SELECT "))),
            `${name} has SQL spans`,
          ).toBe(true);
        }
      },
      { timeout: 10_000, interval: 100 },
    );
    // Every log line of the request carries the trace it belongs to.
    const gatewayLine = system.processes.gateway.logLines().find((l) => l.reqId === requestId && l.msg === "request");
    expect(gatewayLine?.trace_id).toBe(traceId);
    const usersLine = system.processes.users.logLines().find((l) => l.reqId === requestId && l.msg === "request");
    expect(usersLine?.trace_id).toBe(traceId);
  }, 30_000);
});

describe("without an OTLP endpoint", () => {
  test("no SDK starts: the OpenTelemetry API stays a no-op", async () => {
    expect(await startTracing("quiet", { env: {} })).toBeUndefined();
    const span = trace.getTracer("test").startSpan("nothing");
    expect(span.isRecording()).toBe(false);
    span.end();
  });
});
