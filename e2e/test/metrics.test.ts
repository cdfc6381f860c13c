// Prometheus metrics on every service's own port (or, with METRICS_PORT, on a port of their
// own and not on the service's): valid exposition text, and the counters that should move after
// known operations do; labels stay bounded; outsiders get 404.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { createHash, randomBytes } from "node:crypto";
import { ConfigError, readServiceEnv } from "@pooya/runtime";
import { GATEWAY } from "@pooya/system";
import { postGraphQL, startFederation, type Federation } from "../src/harness.ts";
import { OPS, addMeal, createCourse, enroll, topUp } from "../src/fixtures.ts";

interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; count?: string; buckets?: Record<string, string> }[];
}

let fed: Federation;
beforeAll(async () => {
  fed = await startFederation({ env: { TRUSTED_PROXIES: "127.0.0.1" } });
});
afterAll(() => fed?.close());

interface Scrape extends Map<string, Family> {
  /** Every sample line: metric name (with _count/_sum/_bucket suffixes), labels, value. */
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

async function scrape(baseUrl: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  // The exposition must parse (families, types, help) with an independent parser…
  const families = parsePrometheusTextFormat(text) as Family[];
  const result = new Map(families.map((f) => [f.name, f])) as Scrape;
  // …whose histogram handling merges labelled series, so samples are read line by line too.
  result.samples = text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
  return result;
}

/** The sum of a metric's samples whose labels include `labels` (for a histogram: its _count). */
function value(scraped: Scrape, name: string, labels: Record<string, string> = {}): number {
  const family = scraped.get(name);
  const sampleName = family?.type === "HISTOGRAM" ? `${name}_count` : name;
  return scraped.samples
    .filter((s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

describe("every service", () => {
  test("serves valid Prometheus text with its process, HTTP and GraphQL metrics, labelled with its name", async () => {
    for (const [name, base] of [
      ["gateway", fed.gateway.url],
      ...Object.entries(fed.services).map(([n, s]) => [n, s.url] as const),
    ] as const) {
      const families = await scrape(base);
      expect(families.get("process_cpu_seconds_total")?.type).toBe("COUNTER");
      expect(families.get("nodejs_eventloop_lag_seconds")).toBeDefined();
      expect(families.get("http_server_request_duration_seconds")?.type).toBe("HISTOGRAM");
      expect(families.get("graphql_operations_total")?.type).toBe("COUNTER");
      expect(families.get("process_cpu_seconds_total")?.metrics[0]?.labels?.service).toBe(name);
      if (name !== "gateway")
        expect(
          families
            .get("db_pool_connections")
            ?.metrics.map((m) => m.labels?.state)
            .sort(),
        ).toEqual(["idle", "in_use", "waiting"]);
    }
  });

  test("is not served to a client outside METRICS_ALLOW_FROM (a 404, as if it did not exist)", async () => {
    const outside = await fetch(`${fed.gateway.url}/metrics`, { headers: { "x-forwarded-for": "203.0.113.7" } });
    expect(outside.status).toBe(404);
    await scrape(fed.gateway.url, { "x-forwarded-for": "10.20.30.40" }); // a private address may
  });
});

describe("with METRICS_PORT (as deployed on Kubernetes)", () => {
  test("the gateway and a subgraph serve /metrics on that port and nowhere else: 404 on the service port, 200 there", async () => {
    const gateway = await fed.startGateway({ METRICS_PORT: "0" });
    const users = await fed.startSubgraph("users", { METRICS_PORT: "0" });
    for (const [name, service] of [
      ["gateway", gateway],
      ["users", users],
    ] as const) {
      expect(new URL(service.metricsUrl).port, name).not.toBe(new URL(service.url).port);
      const onServicePort = await fetch(`${service.url}/metrics`);
      expect(onServicePort.status, name).toBe(404);
      expect(((await onServicePort.json()) as any).errors[0].extensions.code).toBe("NOT_FOUND");
      const families = await scrape(service.metricsUrl);
      expect(families.get("process_cpu_seconds_total")?.metrics[0]?.labels?.service).toBe(name);
      expect(families.get("http_server_request_duration_seconds")?.type).toBe("HISTOGRAM");
      // The metrics port serves the metrics only; the service port serves everything else.
      for (const path of ["/graphql", "/healthz", "/readyz", "/metrics/", "/"])
        expect((await fetch(`${service.metricsUrl}${path}`)).status, `${name} ${path}`).toBe(404);
      expect((await fetch(`${service.metricsUrl}/metrics`, { method: "POST" })).status).toBe(404);
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    }
    // The GraphQL requests the gateway serves on its port are counted on the metrics port.
    const before = await scrape(gateway.metricsUrl);
    const answer = await fetch(gateway.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "query OnTheServicePort { __typename }" }),
    });
    expect(answer.status).toBe(200);
    const after = await scrape(gateway.metricsUrl);
    expect(
      value(after, "graphql_operations_total", { operation_name: "OnTheServicePort" }) -
        value(before, "graphql_operations_total", { operation_name: "OnTheServicePort" }),
    ).toBe(1);
  });

  test("METRICS_ALLOW_FROM still applies there, to the scraper's own address (X-Forwarded-For counts for nothing)", async () => {
    const gateway = await fed.startGateway({
      METRICS_PORT: "0",
      METRICS_ALLOW_FROM: "10.0.0.0/8",
      TRUSTED_PROXIES: "127.0.0.1",
    });
    expect((await fetch(`${gateway.metricsUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${gateway.metricsUrl}/metrics`, { headers: { "x-forwarded-for": "10.1.2.3" } })).status).toBe(
      404,
    );
  });

  test("a METRICS_PORT equal to PORT is refused at start, naming the variable", () => {
    const env = { ACCESS_TOKEN_JWKS_URL: "http://127.0.0.1:1/jwks.json", PORT: "4000", METRICS_PORT: "4000" };
    expect(() => readServiceEnv(GATEWAY, env)).toThrow(ConfigError);
    expect(() => readServiceEnv(GATEWAY, env)).toThrow(/METRICS_PORT: must differ from PORT/);
    expect(() => readServiceEnv(GATEWAY, { ...env, METRICS_PORT: "9464" })).not.toThrow();
  });
});

describe("counters move with the work", () => {
  test("gateway: requests by route and status, operations by name, type and outcome, calls per subgraph", async () => {
    const before = await scrape(fed.gateway.url);
    await fed.execute({ query: `query MeForMetrics { me { id wallet { balance } } }`, token: fed.admin.token });
    await fed.execute({ query: `query MeForMetrics { nope }`, token: fed.admin.token });
    const after = await scrape(fed.gateway.url);
    const delta = (name: string, labels: Record<string, string>) =>
      value(after, name, labels) - value(before, name, labels);
    expect(
      delta("graphql_operations_total", { operation_name: "MeForMetrics", operation_type: "query", outcome: "ok" }),
    ).toBe(1);
    expect(delta("graphql_operations_total", { outcome: "GRAPHQL_VALIDATION_FAILED" })).toBe(1);
    expect(delta("http_server_request_duration_seconds", { route: "/graphql", status_code: "200" })).toBe(1);
    expect(delta("http_server_request_duration_seconds", { route: "/graphql", status_code: "400" })).toBe(1);
    expect(delta("upstream_request_duration_seconds", { upstream: "users", outcome: "ok" })).toBe(1);
    expect(delta("upstream_request_duration_seconds", { upstream: "food", outcome: "ok" })).toBe(1);
    expect(value(after, "upstream_breaker_state", { upstream: "food" })).toBe(0);
  });

  test("operation names are bounded: beyond 100 distinct names they count as `other`", async () => {
    for (let i = 0; i < 110; i++)
      await fed.execute({ query: `query Many${i}_${randomBytes(2).toString("hex")} { __typename }` });
    const families = await scrape(fed.gateway.url);
    const names = new Set(families.get("graphql_operations_total")!.metrics.map((m) => m.labels?.operation_name));
    expect(names.size).toBeLessThanOrEqual(102); // 100 names, "other", "anonymous"
    expect(names.has("other")).toBe(true);
  });

  test("the gateway's caches stay within their bounds: many distinct operations evict, and cache_* say so", async () => {
    const gateway = await fed.startGateway({
      DOCUMENT_CACHE_MAX_ENTRIES: "20",
      QUERY_PLAN_CACHE_MAX_ENTRIES: "20",
      PERSISTED_QUERY_CACHE_MAX_ENTRIES: "20",
      DOCUMENT_HASH_CACHE_MAX_ENTRIES: "20",
      DOCUMENT_CACHE_MAX_BYTES: "500000",
    });
    const { token } = await fed.createUser("STUDENT");
    for (let i = 0; i < 60; i++) {
      const query = `query Distinct${i} { a${i}: me { id name } b${i}: meals { id } }`;
      const sha256Hash = createHash("sha256").update(query).digest("hex");
      // Half as APQ (the persisted-query cache), half as plain text (hashed for trusted documents).
      const extensions = i % 2 === 0 ? { persistedQuery: { version: 1, sha256Hash } } : undefined;
      const r = await postGraphQL(gateway.graphqlUrl, { query, token, ...(extensions ? { extensions } : {}) });
      expect(r.errors).toBeUndefined();
    }
    const scraped = await scrape(gateway.url);
    for (const cache of ["documents", "query-plans", "persisted-queries", "document-hashes"]) {
      expect(value(scraped, "cache_entries", { cache }), cache).toBeGreaterThan(0);
      expect(value(scraped, "cache_entries", { cache }), cache).toBeLessThanOrEqual(20);
    }
    // A parsed operation is estimated at about 100 bytes of heap per character (some 7 KB here).
    expect(value(scraped, "cache_size_bytes", { cache: "documents" })).toBeLessThanOrEqual(500_000);
    expect(value(scraped, "cache_entries", { cache: "access-tokens" })).toBe(1);
    expect(value(scraped, "cache_entries", { cache: "identity-assertions" })).toBe(1);
  });

  test("users: logins by outcome", async () => {
    const before = await scrape(fed.services.users.url);
    await fed.login("admin@pooya.test", "admin-password-1");
    await fed.execute({
      query: `mutation { login(email: "admin@pooya.test", password: "not it at all") { accessToken } }`,
    });
    const after = await scrape(fed.services.users.url);
    expect(
      value(after, "users_logins_total", { outcome: "ok" }) - value(before, "users_logins_total", { outcome: "ok" }),
    ).toBe(1);
    expect(
      value(after, "users_logins_total", { outcome: "UNAUTHENTICATED" }) -
        value(before, "users_logins_total", { outcome: "UNAUTHENTICATED" }),
    ).toBe(1);
  });

  test("food: purchases by outcome", async () => {
    const student = await fed.createUser("STUDENT");
    await topUp(fed, student.id, 1_000);
    const meal = await addMeal(fed, { stock: 1, price: 100 });
    const before = await scrape(fed.services.food.url);
    const buy = (key: string) =>
      fed.execute({
        query: OPS.buy,
        variables: { i: { mealId: meal.id, quantity: 1, idempotencyKey: key } },
        token: student.token,
      });
    await buy("first");
    await buy("first"); // the same purchase again: replayed, charged once
    await buy("second"); // sold out
    const after = await scrape(fed.services.food.url);
    const delta = (outcome: string) =>
      value(after, "food_purchases_total", { outcome }) - value(before, "food_purchases_total", { outcome });
    expect([delta("ok"), delta("replayed"), delta("SOLD_OUT")]).toEqual([1, 1, 1]);
  });

  test("attendance: the enrollment replica's lag, in events and seconds", async () => {
    const teacher = await fed.createUser("TEACHER");
    const student = await fed.createUser("STUDENT");
    const course = await createCourse(fed, teacher);
    await enroll(fed, student.token, course.id);
    await fed.services.attendance.replica.catchUp();
    const inSync = await scrape(fed.services.attendance.url);
    expect(value(inSync, "enrollment_replica_lag_events")).toBe(0);
    expect(value(inSync, "enrollment_replica_lag_seconds")).toBe(0);
    // Courses goes away: the replica cannot know what it misses, and says how long it has not been in sync.
    await fed.stopService("courses");
    try {
      await fed.services.attendance.replica.catchUp().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(value(await scrape(fed.services.attendance.url), "enrollment_replica_lag_seconds")).toBeGreaterThanOrEqual(
        1,
      );
    } finally {
      await fed.startService("courses");
    }
  }, 20_000);
});

describe("the provisioned Grafana dashboard", () => {
  test("queries only metrics the services export (it cannot drift from the code)", async () => {
    const { readFile } = await import("node:fs/promises");
    const dashboard = JSON.parse(
      await readFile(new URL("../../deploy/observability/grafana/dashboards/pooya.json", import.meta.url), "utf8"),
    ) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    const used = new Set(
      exprs.flatMap((e) =>
        [
          ...e.matchAll(/\b([a-z_]+(?:_total|_seconds|_bytes|_connections|_events|_state)(?:_bucket|_count|_sum)?)\b/g),
        ].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, "")),
      ),
    );
    expect(used.size).toBeGreaterThan(8);
    const exported = new Set<string>();
    for (const base of [fed.gateway.url, ...Object.values(fed.services).map((s) => s.url)])
      for (const name of (await scrape(base)).keys()) exported.add(name);
    for (const name of used) expect(exported, `the dashboard queries ${name}`).toContain(name);
  });
});
