// What a supergraph requires of whoever reads each type and field (@authenticated,
// @requiresScopes, @policy) and how it sizes lists (@listSize), by schema coordinate. The schema
// checks compare these with the released ones (losing a guard is a security regression), and
// composition writes them into descriptions ("Requires: …"), so Sandbox and codegen show them.
import { Kind, parse, type ConstDirectiveNode, type ConstValueNode, type DocumentNode } from "graphql";
import {
  AUTHENTICATED_SPEC,
  COST_SPEC,
  POLICY_SPEC,
  REQUIRES_SCOPES_SPEC,
  linkedDirectiveName,
} from "./linked-directives.ts";

/** Scopes and policies are alternatives of conjunctions: [["a", "b"], ["c"]] is (a and b) or c. */
export type Alternatives = string[][];

export interface Requirement {
  authenticated?: true;
  scopes?: Alternatives;
  policies?: Alternatives;
  /** @listSize's arguments as written. */
  listSize?: Record<string, unknown>;
}

export interface SchemaRequirements {
  /** By coordinate: `Type` or `Type.field`. Only coordinates with something to say. */
  requirements: Map<string, Requirement>;
  /** Every type and field coordinate of the schema. */
  coordinates: Set<string>;
}

function valueOf(node: ConstValueNode): unknown {
  switch (node.kind) {
    case Kind.LIST:
      return node.values.map(valueOf);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, valueOf(f.value)]));
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    default:
      return node.value;
  }
}

const argumentsOf = (directive: ConstDirectiveNode) =>
  Object.fromEntries((directive.arguments ?? []).map((a) => [a.name.value, valueOf(a.value)]));

function alternatives(value: unknown): Alternatives {
  const list = Array.isArray(value) ? value : [];
  return list.map((set) => (Array.isArray(set) ? set.map(String) : [String(set)]));
}

export function schemaRequirements(supergraph: string | DocumentNode): SchemaRequirements {
  const document = typeof supergraph === "string" ? parse(supergraph) : supergraph;
  const name = (spec: string, element: string) => linkedDirectiveName(document, spec, element);
  const names = {
    authenticated: name(AUTHENTICATED_SPEC, "authenticated"),
    scopes: name(REQUIRES_SCOPES_SPEC, "requiresScopes"),
    policy: name(POLICY_SPEC, "policy"),
    listSize: name(COST_SPEC, "listSize"),
  };
  const read = (directives: readonly ConstDirectiveNode[] | undefined): Requirement | undefined => {
    const requirement: Requirement = {};
    for (const directive of directives ?? []) {
      const directiveName = directive.name.value;
      if (directiveName === names.authenticated) requirement.authenticated = true;
      else if (directiveName === names.scopes)
        requirement.scopes = alternatives(argumentsOf(directive).scopes).concat(requirement.scopes ?? []);
      else if (directiveName === names.policy)
        requirement.policies = alternatives(argumentsOf(directive).policies).concat(requirement.policies ?? []);
      else if (directiveName === names.listSize) requirement.listSize = argumentsOf(directive);
    }
    return Object.keys(requirement).length ? requirement : undefined;
  };
  const result: SchemaRequirements = { requirements: new Map(), coordinates: new Set() };
  const add = (coordinate: string, requirement: Requirement | undefined) => {
    result.coordinates.add(coordinate);
    if (!requirement) return;
    const existing = result.requirements.get(coordinate);
    result.requirements.set(coordinate, existing ? { ...existing, ...requirement } : requirement);
  };
  for (const definition of document.definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        add(definition.name.value, read(definition.directives));
        for (const field of definition.fields ?? [])
          add(`${definition.name.value}.${field.name.value}`, read(field.directives));
        break;
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_DEFINITION:
      case Kind.UNION_TYPE_DEFINITION:
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
        add(definition.name.value, read(definition.directives));
        break;
      default:
        break;
    }
  }
  return result;
}

const conjunction = (set: string[], several: boolean) =>
  set.length > 1 && several ? `(${set.join(" and ")})` : set.join(" and ");
const disjunction = (sets: Alternatives) => sets.map((set) => conjunction(set, sets.length > 1)).join(" or ");

/** "Requires: authenticated; scopes role:staff or role:teacher; policy self_or_staff", or undefined. */
export function requirementText(requirement: Requirement | undefined): string | undefined {
  if (!requirement) return undefined;
  const parts: string[] = [];
  if (requirement.authenticated) parts.push("authenticated");
  if (requirement.scopes?.length) parts.push(`scopes ${disjunction(requirement.scopes)}`);
  if (requirement.policies?.length) parts.push(`policy ${disjunction(requirement.policies)}`);
  return parts.length ? `Requires: ${parts.join("; ")}` : undefined;
}
