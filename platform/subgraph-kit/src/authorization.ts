// Defence in depth: a subgraph enforces the same @authenticated, @requiresScopes and @policy its
// schema declares (and the gateway enforces before planning), by wrapping the resolvers of the
// fields that carry them, or that return a type that does, at schema build. Row-level policies
// (which need the data) are decided only here, by the function registered under their name.
import { Kind, type DirectiveNode, type DocumentNode, type TypeNode, type ValueNode } from "graphql";
import { forbidden, unauthenticated } from "@pooya/runtime";
import type { Role, Viewer } from "@pooya/identity";

/** A named policy: may this signed-in viewer see this field of this parent (with these arguments)? */
export type Policy<TContext = never> = (
  viewer: NonNullable<Viewer>,
  parent: never,
  args: never,
  context: TContext,
) => boolean | Promise<boolean>;

/** A subgraph's named policies, as its schema's @policy names them. */
export type Policies<TContext = never> = Record<string, Policy<TContext>>;

interface Requirement {
  coordinate: string;
  scopes?: string[][];
  policies?: string[][];
}

/** Scopes of a signed-in viewer: from the access token's role (the gateway's are the same). */
export const scopesOfRole = (role: Role) => [`role:${role.toLowerCase()}`];

/** Router's name for a refused field; the code stays UNAUTHENTICATED or FORBIDDEN, as clients know them. */
export const REFUSAL_REASON = "UNAUTHORIZED_FIELD_OR_TYPE";

const DIRECTIVES: Record<string, "authenticated" | "requiresScopes" | "policy"> = {
  authenticated: "authenticated",
  federation__authenticated: "authenticated",
  requiresScopes: "requiresScopes",
  federation__requiresScopes: "requiresScopes",
  policy: "policy",
  federation__policy: "policy",
};

const listOfLists = (value: ValueNode | undefined): string[][] =>
  value?.kind === Kind.LIST
    ? value.values.map((inner) =>
        inner.kind === Kind.LIST ? inner.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : [])) : [],
      )
    : [];

function requirementOf(coordinate: string, directives: readonly DirectiveNode[] | undefined): Requirement | undefined {
  let requirement: Requirement | undefined;
  for (const directive of directives ?? []) {
    const kind = DIRECTIVES[directive.name.value];
    if (!kind) continue;
    requirement ??= { coordinate };
    if (kind === "requiresScopes") requirement.scopes = listOfLists(directive.arguments?.[0]?.value);
    if (kind === "policy") requirement.policies = listOfLists(directive.arguments?.[0]?.value);
  }
  return requirement;
}

const namedType = (type: TypeNode): string => (type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type));

/** Every guarded field of a subgraph's SDL, by "Type.field" ("Type.__resolveReference" for a guarded entity type). */
export function guardedFields(typeDefs: DocumentNode): Map<string, Requirement[]> {
  const types = new Map<string, Requirement>();
  const objects: { name: string; fields: { name: string; type: TypeNode; directives?: readonly DirectiveNode[] }[] }[] =
    [];
  for (const d of typeDefs.definitions) {
    if (d.kind !== Kind.OBJECT_TYPE_DEFINITION && d.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const own = requirementOf(d.name.value, d.directives);
    if (own) types.set(d.name.value, own);
    objects.push({ name: d.name.value, fields: [...(d.fields ?? [])].map((f) => ({ ...f, name: f.name.value })) });
  }
  const guarded = new Map<string, Requirement[]>();
  const add = (key: string, requirement: Requirement | undefined) => {
    if (requirement) guarded.set(key, [...(guarded.get(key) ?? []), requirement]);
  };
  for (const object of objects) {
    add(`${object.name}.__resolveReference`, types.get(object.name));
    for (const field of object.fields) {
      const coordinate = `${object.name}.${field.name}`;
      add(coordinate, requirementOf(coordinate, field.directives));
      add(coordinate, types.get(namedType(field.type)));
    }
  }
  return guarded;
}

type Resolver = (parent: unknown, args: unknown, context: { viewer: Viewer }, info: unknown) => unknown;
type ResolverMap = Record<string, Record<string, unknown>>;

/**
 * The resolvers with each guarded field checked first: anonymous → UNAUTHENTICATED, a signed-in
 * viewer without the scopes or policy → FORBIDDEN (the codes today's clients handle), with
 * `extensions.reason` UNAUTHORIZED_FIELD_OR_TYPE. A field without a resolver gets one that reads
 * the property. A policy the schema names that `policies` lacks stops the service at start.
 */
export function guardResolvers(
  typeDefs: DocumentNode,
  resolvers: object,
  policies: Policies<never> = {},
  refused?: (coordinate: string, rule: string) => void,
): object {
  const guarded = guardedFields(typeDefs);
  for (const requirements of guarded.values())
    for (const policy of requirements.flatMap((r) => r.policies?.flat() ?? []))
      if (!(policy in policies)) throw new Error(`@policy "${policy}" is declared in the schema but not registered`);
  const map = { ...(resolvers as ResolverMap) };
  for (const [key, requirements] of guarded) {
    const [typeName, fieldName] = key.split(".") as [string, string];
    const typeResolvers = (map[typeName] = { ...map[typeName] });
    const refuse = (requirement: Requirement, rule: string, viewer: Viewer) => {
      refused?.(requirement.coordinate, rule);
      return refusalError(requirement, viewer);
    };
    const withPolicies = requirements.filter((r) => r.policies);
    // What the token decides is checked at once; only a policy makes the field wait (for its data).
    const check = (parent: unknown, args: unknown, context: { viewer: Viewer }): Promise<void> | undefined => {
      for (const requirement of requirements) {
        const rule = tokenRefusal(requirement, context.viewer);
        if (rule) throw refuse(requirement, rule, context.viewer);
      }
      if (!withPolicies.length) return undefined;
      return (async () => {
        for (const requirement of withPolicies) {
          const rule = await policyRefusal(requirement, parent, args, context, policies);
          if (rule) throw refuse(requirement, rule, context.viewer);
        }
      })();
    };
    const then = (pending: Promise<void> | undefined, next: () => unknown) => (pending ? pending.then(next) : next());
    const existing = typeResolvers[fieldName];
    if (fieldName === "__resolveReference") {
      if (typeof existing !== "function") continue; // the kit's default reference is the key itself: nothing to read
      const resolve = existing as (ref: unknown, context: { viewer: Viewer }, info: unknown) => unknown;
      typeResolvers[fieldName] = (ref: unknown, context: { viewer: Viewer }, info: unknown) =>
        then(check(ref, {}, context), () => resolve(ref, context, info));
    } else if (typeName === "Subscription") {
      const field = existing as { subscribe: Resolver; resolve?: Resolver };
      typeResolvers[fieldName] = {
        ...field,
        subscribe: (parent: unknown, args: unknown, context: { viewer: Viewer }, info: unknown) =>
          then(check(parent, args, context), () => field.subscribe(parent, args, context, info)),
      };
    } else {
      const resolve: Resolver =
        typeof existing === "function"
          ? (existing as Resolver)
          : (parent) => (parent as Record<string, unknown> | null)?.[fieldName];
      typeResolvers[fieldName] = (parent: unknown, args: unknown, context: { viewer: Viewer }, info: unknown) =>
        then(check(parent, args, context), () => resolve(parent, args, context, info));
    }
  }
  return map;
}

function tokenRefusal(requirement: Requirement, viewer: Viewer): string | undefined {
  if (!viewer) return "authenticated";
  if (requirement.scopes) {
    const scopes = new Set(scopesOfRole(viewer.role));
    if (!requirement.scopes.some((all) => all.every((s) => scopes.has(s)))) return "requiresScopes";
  }
  return undefined;
}

async function policyRefusal(
  requirement: Requirement,
  parent: unknown,
  args: unknown,
  context: { viewer: Viewer },
  policies: Policies<never>,
): Promise<string | undefined> {
  const viewer = context.viewer!; // signed in: tokenRefusal ran first
  if (requirement.policies) {
    for (const all of requirement.policies) {
      let passes = true;
      for (const name of all)
        if (!(await policies[name]!(viewer, parent as never, args as never, context as never))) {
          passes = false;
          break;
        }
      if (passes) return undefined;
    }
    return `policy:${requirement.policies.flat().join(",")}`;
  }
  return undefined;
}

function describe(requirements: Requirement): string {
  const alternatives = (lists: string[][]) => lists.map((all) => all.join(" & ")).join(" | ");
  const parts = [
    ...(requirements.scopes ? [`@requiresScopes(${alternatives(requirements.scopes)})`] : []),
    ...(requirements.policies ? [`@policy(${alternatives(requirements.policies)})`] : []),
  ];
  return parts.length ? parts.join(" ") : "@authenticated";
}

function refusalError(requirement: Requirement, viewer: Viewer) {
  const error = viewer
    ? forbidden(`Not allowed: ${requirement.coordinate} needs ${describe(requirement)}.`)
    : unauthenticated();
  error.extensions.reason = REFUSAL_REASON;
  return error;
}
