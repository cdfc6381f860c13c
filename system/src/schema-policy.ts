// Policy changes between the released supergraph's requirements and the current one's: a type or
// field losing @authenticated, @requiresScopes or @policy, or accepting more scopes or policies
// than before, is BREAKING (a security regression: someone may now read what they could not); a
// list losing @listSize is DANGEROUS (demand control falls back to guessing its size).
// The API schema has none of these directives (they are the supergraph's), so the released ones
// are kept next to the released API: gateway/policy-baseline.json, written by schema:release.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { schemaRequirements, type Alternatives, type Requirement, type SchemaRequirements } from "@pooya/gateway";

export const POLICY_BASELINE_FILE = "gateway/policy-baseline.json";

export type PolicyChangeType =
  | "AUTHENTICATED_REMOVED"
  | "REQUIRES_SCOPES_REMOVED"
  | "REQUIRES_SCOPES_WIDENED"
  | "POLICY_REMOVED"
  | "POLICY_WIDENED"
  | "LIST_SIZE_REMOVED";

export interface PolicyChange {
  level: "BREAKING" | "DANGEROUS";
  type: PolicyChangeType;
  path: string;
  message: string;
}

const show = (sets: Alternatives) => JSON.stringify(sets);

/**
 * Alternatives `after` accept someone `before` refused: a conjunction of `after` that no
 * conjunction of `before` is contained in (holding exactly its scopes would now be enough).
 */
export function widened(before: Alternatives, after: Alternatives): string[][] {
  return after.filter((set) => !before.some((old) => old.every((item) => set.includes(item))));
}

/** Whether `requirement` still asks for a signed-in viewer (scopes come only with a token). */
const needsToken = (requirement: Requirement | undefined) =>
  !!requirement?.authenticated || (!!requirement?.scopes?.length && requirement.scopes.every((set) => set.length > 0));

export function policyChanges(
  before: Map<string, Requirement>,
  after: Pick<SchemaRequirements, "requirements" | "coordinates">,
): PolicyChange[] {
  const changes: PolicyChange[] = [];
  for (const [path, old] of before) {
    if (!after.coordinates.has(path)) continue; // removed altogether: the API diff reports that
    const now = after.requirements.get(path);
    const breaking = (type: PolicyChangeType, message: string) =>
      changes.push({ level: "BREAKING", type, path, message });
    if (old.authenticated && !needsToken(now))
      breaking("AUTHENTICATED_REMOVED", `${path} no longer requires an authenticated viewer (@authenticated removed)`);
    if (old.scopes?.length) {
      if (!now?.scopes?.length)
        breaking("REQUIRES_SCOPES_REMOVED", `${path} no longer requires scopes (was ${show(old.scopes)})`);
      else if (widened(old.scopes, now.scopes).length)
        breaking(
          "REQUIRES_SCOPES_WIDENED",
          `${path} accepts more scopes: ${show(now.scopes)} (was ${show(old.scopes)}; newly enough: ${show(widened(old.scopes, now.scopes))})`,
        );
    }
    if (old.policies?.length) {
      if (!now?.policies?.length)
        breaking("POLICY_REMOVED", `${path} no longer requires a policy (was ${show(old.policies)})`);
      else if (widened(old.policies, now.policies).length)
        breaking(
          "POLICY_WIDENED",
          `${path} accepts more policies: ${show(now.policies)} (was ${show(old.policies)}; newly enough: ${show(widened(old.policies, now.policies))})`,
        );
    }
    if (old.listSize && !now?.listSize)
      changes.push({
        level: "DANGEROUS",
        type: "LIST_SIZE_REMOVED",
        path,
        message: `${path} lost @listSize (was ${JSON.stringify(old.listSize)}): demand control no longer knows how long it gets`,
      });
  }
  return changes;
}

/** The released requirements (empty when nothing was released with them yet). */
export function readPolicyBaseline(root: string): Map<string, Requirement> {
  const path = join(root, POLICY_BASELINE_FILE);
  if (!existsSync(path)) return new Map();
  return new Map(Object.entries(JSON.parse(readFileSync(path, "utf8")) as Record<string, Requirement>));
}

/** The requirements of `supergraphSdl` as schema:release keeps them (sorted, one coordinate a line). */
export function renderPolicyBaseline(supergraphSdl: string): string {
  const { requirements } = schemaRequirements(supergraphSdl);
  const sorted = [...requirements].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (!sorted.length) return "{}\n";
  return `{\n${sorted.map(([coordinate, r]) => `  ${JSON.stringify(coordinate)}: ${JSON.stringify(r)}`).join(",\n")}\n}\n`;
}

export function writePolicyBaseline(root: string, supergraphSdl: string): void {
  writeFileSync(join(root, POLICY_BASELINE_FILE), renderPolicyBaseline(supergraphSdl));
}
