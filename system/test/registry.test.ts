// The registry's internal routes: who may call each is declared with the callee's descriptor, and
// the declarations agree with the callers' own `calls` (checked again whenever the federation starts).
import { expect, test } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { defineService, type InternalRoute } from "@pooya/runtime";
import { EVENT_FEED_PATH } from "@pooya/events";
import { EVENT_SOURCES } from "@pooya/gateway";
import {
  CODEOWNERS_PATH,
  PROJECT_ROOT,
  SUBGRAPHS,
  checkInternalRoutes,
  internalRouteTable,
  renderCodeowners,
  withInternalRouteTable,
} from "../src/index.ts";

test("every declared caller calls the route's service, and every call has a route that declares its caller", () => {
  expect(checkInternalRoutes()).toEqual([]);
  // Every internal route names at least one caller; the gateway calls only the event feeds of
  // the services whose events it hears (its cache's invalidation), and each of those lets it.
  for (const subgraph of SUBGRAPHS) {
    for (const route of subgraph.internalRoutes ?? []) {
      expect(route.path.startsWith("/internal/"), route.path).toBe(true);
      expect(route.callers.length, `${subgraph.name} ${route.path}`).toBeGreaterThan(0);
      if (route.path !== EVENT_FEED_PATH)
        expect(route.callers, `${subgraph.name} ${route.path}`).not.toContain("gateway");
      else
        expect(route.callers.includes("gateway"), subgraph.name).toBe(EVENT_SOURCES.includes(subgraph.name as never));
    }
  }
  expect([...EVENT_SOURCES].sort()).toEqual(
    SUBGRAPHS.filter((s) => s.publishes?.events)
      .map((s) => s.name)
      .sort(),
  );
});

test("the gateway may read only the event feeds of its EVENT_SOURCES, and each of them must declare it", () => {
  const feed = (callers: string[]) => [{ method: "GET" as const, path: EVENT_FEED_PATH, callers }];
  const problems = checkInternalRoutes(
    [
      service("declares", [], feed(["gateway"])),
      service("forgets", [], feed([])),
      service("unread", [], [...feed(["gateway"]), { method: "POST", path: "/internal/other", callers: ["gateway"] }]),
    ],
    { name: "gateway", eventSources: ["declares", "forgets", "missing"] },
  );
  expect(problems).toEqual([
    "unread GET /internal/events: its caller gateway reads only the event feeds of declares, forgets, missing",
    "unread POST /internal/other: its caller gateway reads only the event feeds of declares, forgets, missing",
    "gateway reads the events of forgets, but forgets's GET /internal/events does not declare it as a caller",
    "gateway reads the events of missing, which is not a subgraph of the registry",
  ]);
});

const service = (name: string, calls: string[], internalRoutes: InternalRoute[] = []) =>
  defineService({
    name,
    defaultPort: 1,
    calls,
    internalRoutes,
    env: {},
    start: async () => ({ name, url: "", graphqlUrl: "", stop: async () => undefined }),
  });

test("the check names a caller that does not call the service, a call no route allows, and an unknown service", () => {
  const problems = checkInternalRoutes([
    service("source", [], [{ method: "GET", path: "/internal/events", callers: ["reader", "stranger", "ghost"] }]),
    service("reader", ["source"]),
    service("stranger", []),
    service("caller", ["source"]),
  ]);
  expect(problems).toEqual([
    "source GET /internal/events: its caller stranger does not list source in its calls",
    "source GET /internal/events: its caller ghost is not a subgraph of the registry",
    "caller calls source, but no internal route of source declares it as a caller",
  ]);
});

test("docs/token-flow.md shows the caller table the descriptors declare (npm run docs:token-flow)", async () => {
  const doc = await readFile(join(PROJECT_ROOT, "docs/token-flow.md"), "utf8");
  expect(doc).toContain(internalRouteTable());
  expect(withInternalRouteTable(doc)).toBe(doc);
});

test(".github/CODEOWNERS is what the registry says (npm run codeowners), and gives every subgraph's folder to its team", async () => {
  const written = await readFile(CODEOWNERS_PATH, "utf8");
  expect(written).toBe(renderCodeowners());
  for (const subgraph of SUBGRAPHS)
    expect(written).toMatch(new RegExp(`^/subgraphs/${subgraph.name}/ +@pooya/[a-z-]+$`, "m"));
});

test("@pooya/system depends on every subgraph's package, so turbo builds (codegen) and typechecks each before the registry", async () => {
  const manifest = async (dir: string) => JSON.parse(await readFile(join(PROJECT_ROOT, dir, "package.json"), "utf8"));
  const { dependencies } = (await manifest("system")) as { dependencies: Record<string, string> };
  for (const subgraph of SUBGRAPHS) {
    const { name } = (await manifest(`subgraphs/${subgraph.name}`)) as { name: string };
    expect(dependencies[name], name).toBe("*");
  }
});
