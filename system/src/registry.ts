// The one list of services. Each package describes itself (name, default port, whom it calls,
// its variables, how it starts); everything that needs the list — npm start, the test harness,
// composition, the Prisma and codegen scripts, the docs — reads it from here.
// Adding a service: `npm run new:subgraph -- <name>` (docs/architecture.md#adding-a-subgraph) does all
// this: its folder under subgraphs/ (Prisma schema and migrations included), one line below and its team
// in SUBGRAPH_OWNERS, its package in system/package.json, then `npm install` and
// `npm run registry:generate` (supergraph, compose, Kubernetes, CODEOWNERS, docs tables).
import type { AnyServiceDescriptor, InternalRoute } from "@pooya/runtime";
import { EVENT_SOURCES, gatewayService } from "@pooya/gateway";
import { EVENT_FEED_PATH } from "@pooya/events";
import { usersService } from "@pooya/users";
import { coursesService } from "@pooya/courses";
import { attendanceService } from "@pooya/attendance";
import { foodService } from "@pooya/food";
import { notificationsService } from "@pooya/notifications";

export const SUBGRAPHS = [usersService, coursesService, attendanceService, foodService, notificationsService] as const;

export const GATEWAY = gatewayService;

/**
 * The team that owns each subgraph: its folder and its database's schema and migrations are
 * theirs to review (.github/CODEOWNERS is generated from this, npm run codeowners). A subgraph
 * without a team does not compile.
 */
export const SUBGRAPH_OWNERS: Record<SubgraphName, string> = {
  users: "@pooya/identity",
  courses: "@pooya/academic",
  attendance: "@pooya/academic",
  food: "@pooya/campus-services",
  notifications: "@pooya/campus-services",
};

/** The platform team: the gateway, the shared packages, the harnesses and CI. */
export const PLATFORM_OWNERS = "@pooya/platform";

export type Subgraph = (typeof SUBGRAPHS)[number];
export type SubgraphName = Subgraph["name"];
export const SUBGRAPH_NAMES = SUBGRAPHS.map((s) => s.name) as SubgraphName[];

export function subgraph<N extends SubgraphName>(name: N): Extract<Subgraph, { name: N }> {
  const found = SUBGRAPHS.find((s) => s.name === name);
  if (!found) throw new Error(`no subgraph named ${name} in the registry`);
  return found as Extract<Subgraph, { name: N }>;
}

/** Start order: every service after the services it calls. */
export function startOrder(): SubgraphName[] {
  const order: SubgraphName[] = [];
  const visiting = new Set<string>();
  const visit = (descriptor: AnyServiceDescriptor) => {
    if (order.includes(descriptor.name as SubgraphName)) return;
    if (visiting.has(descriptor.name))
      throw new Error(`services call each other in a cycle through ${descriptor.name}`);
    visiting.add(descriptor.name);
    for (const callee of descriptor.calls) visit(subgraph(callee as SubgraphName));
    order.push(descriptor.name as SubgraphName);
  };
  for (const descriptor of SUBGRAPHS) visit(descriptor);
  return order;
}

/** The service whose JWKS holds the access-token keys the gateway verifies with. */
export function accessTokenIssuer(): { name: SubgraphName; keysPath: string } {
  const issuer = SUBGRAPHS.find((s) => "publishes" in s && s.publishes?.accessTokenKeys);
  if (!issuer || !("publishes" in issuer) || !issuer.publishes?.accessTokenKeys)
    throw new Error("no service in the registry publishes access-token keys");
  return { name: issuer.name, keysPath: issuer.publishes.accessTokenKeys };
}

/** What the gateway calls besides GraphQL: the event feeds of the services whose events it hears. */
export interface GatewayReads {
  name: string;
  eventSources: readonly string[];
}
const GATEWAY_READS: GatewayReads = { name: GATEWAY.name, eventSources: EVENT_SOURCES };

/**
 * The declared internal routes against the callers' `calls`, as "problem" lines (none: they
 * agree): every declared caller is a subgraph that lists the route's service in its `calls`, and
 * every service a subgraph calls declares it as a caller of at least one of its internal routes.
 * The gateway may be declared a caller of the event feed of a service whose events it hears
 * (`gateway`'s EVENT_SOURCES), and each of those declares it.
 */
export function checkInternalRoutes(
  subgraphs: readonly AnyServiceDescriptor[] = SUBGRAPHS,
  gateway: GatewayReads | undefined = subgraphs === SUBGRAPHS ? GATEWAY_READS : undefined,
): string[] {
  const problems: string[] = [];
  const byName = new Map(subgraphs.map((s) => [s.name, s]));
  const isFeed = (route: InternalRoute) => route.method === "GET" && route.path === EVENT_FEED_PATH;
  for (const callee of subgraphs) {
    for (const route of callee.internalRoutes ?? []) {
      for (const caller of route.callers) {
        const descriptor = byName.get(caller);
        const where = `${callee.name} ${route.method} ${route.path}`;
        if (gateway && caller === gateway.name) {
          if (!isFeed(route) || !gateway.eventSources.includes(callee.name))
            problems.push(
              `${where}: its caller ${caller} reads only the event feeds of ${gateway.eventSources.join(", ")}`,
            );
        } else if (!descriptor) problems.push(`${where}: its caller ${caller} is not a subgraph of the registry`);
        else if (!descriptor.calls.includes(callee.name)) {
          problems.push(`${where}: its caller ${caller} does not list ${callee.name} in its calls`);
        }
      }
    }
  }
  for (const caller of subgraphs) {
    for (const calleeName of caller.calls) {
      const callee = byName.get(calleeName);
      if (!callee) problems.push(`${caller.name} calls ${calleeName}, which is not a subgraph of the registry`);
      else if (!(callee.internalRoutes ?? []).some((route) => route.callers.includes(caller.name))) {
        problems.push(
          `${caller.name} calls ${calleeName}, but no internal route of ${calleeName} declares it as a caller`,
        );
      }
    }
  }
  for (const source of gateway?.eventSources ?? []) {
    const callee = byName.get(source);
    if (!callee)
      problems.push(`${gateway!.name} reads the events of ${source}, which is not a subgraph of the registry`);
    else if (!(callee.internalRoutes ?? []).some((route) => isFeed(route) && route.callers.includes(gateway!.name)))
      problems.push(
        `${gateway!.name} reads the events of ${source}, but ${source}'s GET ${EVENT_FEED_PATH} does not declare it as a caller`,
      );
  }
  return problems;
}

/** Who may call which internal route, as the Markdown table docs/token-flow.md shows (a test compares them). */
export function internalRouteTable(subgraphs: readonly AnyServiceDescriptor[] = SUBGRAPHS): string {
  const rows = subgraphs.flatMap((callee) =>
    (callee.internalRoutes ?? []).map(
      (route) => `| ${callee.name} | \`${route.method} ${route.path}\` | ${route.callers.join(", ")} |`,
    ),
  );
  return ["| service | internal route | callers allowed |", "|---|---|---|", ...rows].join("\n");
}

/** `markdown` with its caller table (the one that starts with internalRouteTable's header) replaced by the registry's. */
export function withInternalRouteTable(
  markdown: string,
  subgraphs: readonly AnyServiceDescriptor[] = SUBGRAPHS,
): string {
  const table = internalRouteTable(subgraphs);
  const lines = markdown.split("\n");
  const start = lines.indexOf(table.split("\n")[0]!);
  if (start < 0) throw new Error("no caller table (| service | internal route | callers allowed |) to replace");
  let end = start;
  while (end < lines.length && lines[end]!.startsWith("|")) end++;
  return [...lines.slice(0, start), table, ...lines.slice(end)].join("\n");
}
