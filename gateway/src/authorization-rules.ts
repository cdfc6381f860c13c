// Who may see what, as the supergraph declares it: @authenticated, @requiresScopes and @policy on
// fields and types (read from its SDL, names as its @link says), and whether a caller's token
// meets a requirement. The gateway's filter (authorization.ts) removes what it does not.
import { Kind, parse, type DirectiveNode, type DocumentNode, type ValueNode } from "graphql";
import type { Role } from "@pooya/identity";

/** What a field or type asks of the caller: each list is OR of ANDs, as in the federation spec. */
export interface Requirement {
  authenticated: boolean;
  scopes?: string[][];
  policies?: string[][];
}

export interface AuthorizationRules {
  /** By "Type.field". */
  fields: Map<string, Requirement>;
  /** By type name: a field returning the type, or a fragment on it, needs it too. */
  types: Map<string, Requirement>;
}

/**
 * The named policies of the supergraph. `token`: decided here from the verified token's role (a
 * policy that needs nothing else); `row`: needs the data, so it passes the gateway for a signed-in
 * caller and the subgraph that owns the field decides (its registered function of the same name).
 * A policy the supergraph names that is not listed here stops the gateway at start.
 */
export const GATEWAY_POLICIES: Record<string, { token: (role: Role) => boolean } | "row"> = {
  self: "row",
  self_or_staff: "row",
  self_or_teacher_or_staff: "row",
  teacher_of_course_or_staff: "row",
};

/** Scopes of a signed-in caller: from the access token's role. */
export const scopesOf = (role: Role) => [`role:${role.toLowerCase()}`];

export const REFUSAL_REASON = "UNAUTHORIZED_FIELD_OR_TYPE";

const SPECS = { authenticated: "authenticated", requiresScopes: "requiresScopes", policy: "policy" } as const;

/** The directives' names in a supergraph (as its @link says, `as:` included). */
function directiveNames(document: DocumentNode) {
  const names: Record<keyof typeof SPECS, string> = { ...SPECS };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of definition.directives ?? []) {
      if (link.name.value !== "link") continue;
      const url = stringArgument(link, "url");
      const spec = url && /specs\.apollo\.dev\/(authenticated|requiresScopes|policy)\/v/.exec(url)?.[1];
      if (spec) names[spec as keyof typeof SPECS] = stringArgument(link, "as") ?? spec;
    }
  }
  return names;
}

function stringArgument(directive: DirectiveNode, name: string): string | undefined {
  const value = directive.arguments?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
}

const listOfLists = (value: ValueNode | undefined): string[][] =>
  value?.kind === Kind.LIST
    ? value.values.map((inner) =>
        inner.kind === Kind.LIST ? inner.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : [])) : [],
      )
    : [];

function requirementOf(
  directives: readonly DirectiveNode[] | undefined,
  names: ReturnType<typeof directiveNames>,
): Requirement | undefined {
  let requirement: Requirement | undefined;
  for (const directive of directives ?? []) {
    const name = directive.name.value;
    if (name === names.authenticated) (requirement ??= { authenticated: true }).authenticated = true;
    else if (name === names.requiresScopes)
      (requirement ??= { authenticated: true }).scopes = listOfLists(directive.arguments?.[0]?.value);
    else if (name === names.policy)
      (requirement ??= { authenticated: true }).policies = listOfLists(directive.arguments?.[0]?.value);
  }
  return requirement;
}

/** Every field and type of the supergraph that carries @authenticated, @requiresScopes or @policy. */
export function authorizationRules(supergraphSdl: string): AuthorizationRules {
  const document = parse(supergraphSdl);
  const names = directiveNames(document);
  const rules: AuthorizationRules = { fields: new Map(), types: new Map() };
  for (const definition of document.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_EXTENSION
    )
      continue;
    const type = definition.name.value;
    const own = requirementOf(definition.directives, names);
    if (own) rules.types.set(type, own);
    for (const field of definition.fields ?? []) {
      const requirement = requirementOf(field.directives, names);
      if (requirement) rules.fields.set(`${type}.${field.name.value}`, requirement);
    }
  }
  for (const requirement of [...rules.fields.values(), ...rules.types.values()])
    for (const policy of requirement.policies?.flat() ?? [])
      if (!(policy in GATEWAY_POLICIES))
        throw new Error(`the supergraph names @policy "${policy}", which gateway/src/authorization.ts does not know`);
  return rules;
}

/** How a requirement reads in an error and in metrics, e.g. `@requiresScopes(role:teacher | role:staff)`. */
export function describe(requirement: Requirement): string {
  const parts: string[] = [];
  const alternatives = (lists: string[][]) => lists.map((all) => all.join(" & ")).join(" | ");
  if (requirement.scopes) parts.push(`@requiresScopes(${alternatives(requirement.scopes)})`);
  if (requirement.policies) parts.push(`@policy(${alternatives(requirement.policies)})`);
  if (!parts.length) parts.push("@authenticated");
  return parts.join(" ");
}

/** Why a requirement refuses a caller (undefined: allowed here). Row-level policies pass for a signed-in caller. */
export function refusal(requirement: Requirement, role: Role | null): string | undefined {
  if (role === null) return "authenticated";
  if (requirement.scopes) {
    const scopes = new Set(scopesOf(role));
    if (!requirement.scopes.some((all) => all.every((scope) => scopes.has(scope)))) return "requiresScopes";
  }
  if (requirement.policies) {
    const passes = (policy: string) => {
      const rule = GATEWAY_POLICIES[policy];
      return rule === "row" || rule?.token(role) === true;
    };
    const allowed = requirement.policies.find((all) => all.every(passes));
    if (!allowed) return `policy:${requirement.policies.flat().find((p) => !passes(p))}`;
  }
  return undefined;
}
