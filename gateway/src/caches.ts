// Apollo's own caches, bounded here by entries as well as bytes: their default is 30 MiB
// each, measured by JSON, which for a parsed document is about a quarter of its heap.
import type { GatewayConfig } from "@apollo/gateway";
import type { DocumentNode } from "graphql";
import { boundedKeyValueCache, documentBytes, stringBytes } from "@pooya/runtime";
import type { GatewayCacheBounds } from "./settings.ts";

/**
 * Heap of a query plan per byte of its JSON (Apollo's own estimate of a plan is its JSON): its
 * fetch nodes' operation texts, selection sets and paths as objects.
 */
const QUERY_PLAN_BYTES_PER_JSON_BYTE = 3;
type QueryPlan = NonNullable<
  Awaited<ReturnType<NonNullable<NonNullable<GatewayConfig["queryPlannerConfig"]>["cache"]>["get"]>>
>;

export function createApolloCaches(bounds: Pick<GatewayCacheBounds, "documents" | "persistedQueries" | "queryPlans">) {
  return {
    /** Apollo Server's parsed documents. */
    documentStore: boundedKeyValueCache<DocumentNode>("documents", bounds.documents, documentBytes),
    /** Automatic persisted queries. */
    persistedQueries: boundedKeyValueCache<string>("persisted-queries", bounds.persistedQueries, stringBytes),
    /** Apollo Gateway's query plans. */
    queryPlans: boundedKeyValueCache<QueryPlan>(
      "query-plans",
      bounds.queryPlans,
      (plan) => JSON.stringify(plan).length * QUERY_PLAN_BYTES_PER_JSON_BYTE,
    ),
  };
}

export type ApolloCaches = ReturnType<typeof createApolloCaches>;
