// How large one argument value may be: a text value at most so many characters, a list at most so
// many items, in literals and variables alike, at any depth of an input object. Checked after
// validation and before planning, so one oversized value is the client's BAD_USER_INPUT naming
// the argument and the limit — not the subgraph-request size check's "ask for fewer fields",
// which is about fragments that expand, and not a database error somewhere downstream.
import { GraphQLError, Kind, visit, type ASTNode, type DocumentNode, type ValueNode } from "graphql";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";

export interface ValueLimits {
  /** Characters (Unicode code points) in one text value: a String, ID or custom scalar given as text. */
  maxTextLength: number;
  /** Items in one list value. */
  maxListItems: number;
}

/** Where a value sits: the argument (with the path inside its value) of a field or directive. */
interface Place {
  /** `search`, `input.email`, `input.marks[3].studentId`: what `extensions.field` says. */
  path: string;
  /** `courses`, `attendance`, `@include`. */
  owner: string;
}

/** Code points, counted only past the cheap bound (a string's UTF-16 length is never smaller). */
function characters(text: string, max: number): number {
  if (text.length <= max) return text.length;
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function refusal(place: Place, problem: string, limit: Record<string, number>): GraphQLError {
  return new GraphQLError(`Argument "${place.path}" of ${place.owner} ${problem}.`, {
    extensions: { code: "BAD_USER_INPUT", field: place.path, ...limit, http: { status: 400 } },
  });
}

const textTooLong = (place: Place, length: number, limits: ValueLimits) =>
  refusal(place, `is ${length} characters long; a text value may be at most ${limits.maxTextLength} characters`, {
    maxLength: limits.maxTextLength,
  });
const listTooLong = (place: Place, items: number, limits: ValueLimits) =>
  refusal(place, `holds ${items} items; a list value may hold at most ${limits.maxListItems}`, {
    maxItems: limits.maxListItems,
  });

const at = (place: Place, path: string): Place => ({ ...place, path });

/** The first oversized part of a variable's value (undefined: none). */
function checkValue(value: unknown, place: Place, limits: ValueLimits): GraphQLError | undefined {
  if (typeof value === "string") {
    const length = characters(value, limits.maxTextLength);
    return length > limits.maxTextLength ? textTooLong(place, length, limits) : undefined;
  }
  if (Array.isArray(value)) {
    if (value.length > limits.maxListItems) return listTooLong(place, value.length, limits);
    for (let i = 0; i < value.length; i++) {
      const found = checkValue(value[i], at(place, `${place.path}[${i}]`), limits);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === "object") {
    for (const key in value) {
      // A key is text too (an unknown one is refused by coercion later, but it is read first).
      const keyLength = characters(key, limits.maxTextLength);
      if (keyLength > limits.maxTextLength) return textTooLong(at(place, `${place.path}.<key>`), keyLength, limits);
      const found = checkValue((value as Record<string, unknown>)[key], at(place, `${place.path}.${key}`), limits);
      if (found) return found;
    }
  }
  return undefined;
}

/** The first oversized part of a literal; records where each variable inside it is used. */
function checkLiteral(
  node: ValueNode,
  place: Place,
  limits: ValueLimits,
  uses: Map<string, Place>,
): GraphQLError | undefined {
  switch (node.kind) {
    case Kind.STRING: {
      const length = characters(node.value, limits.maxTextLength);
      return length > limits.maxTextLength ? textTooLong(place, length, limits) : undefined;
    }
    case Kind.VARIABLE:
      if (!uses.has(node.name.value)) uses.set(node.name.value, place);
      return undefined;
    case Kind.LIST: {
      if (node.values.length > limits.maxListItems) return listTooLong(place, node.values.length, limits);
      for (let i = 0; i < node.values.length; i++) {
        const found = checkLiteral(node.values[i]!, at(place, `${place.path}[${i}]`), limits, uses);
        if (found) return found;
      }
      return undefined;
    }
    case Kind.OBJECT:
      for (const field of node.fields) {
        const found = checkLiteral(field.value, at(place, `${place.path}.${field.name.value}`), limits, uses);
        if (found) return found;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** The field or directive an argument belongs to, by name. */
function ownerOf(parent: unknown, ancestors: readonly (ASTNode | readonly ASTNode[])[]): string {
  for (const node of [parent, ...[...ancestors].reverse()]) {
    if (!node || Array.isArray(node)) continue;
    const n = node as ASTNode;
    if (n.kind === Kind.FIELD) return n.name.value;
    if (n.kind === Kind.DIRECTIVE) return `@${n.name.value}`;
  }
  return "the operation";
}

/** What a document's literals say (checked once per parsed document) and where its variables are used. */
interface DocumentVerdict {
  literal: GraphQLError | undefined;
  uses: Map<string, Place>;
}

function readDocument(document: DocumentNode, limits: ValueLimits): DocumentVerdict {
  const uses = new Map<string, Place>();
  let literal: GraphQLError | undefined;
  visit(document, {
    Argument(node, _key, parent, _path, ancestors) {
      literal ??= checkLiteral(node.value, { path: node.name.value, owner: ownerOf(parent, ancestors) }, limits, uses);
      return false; // its value was walked above
    },
  });
  return { literal, uses };
}

/** The refusal for an operation whose arguments hold an oversized value, literal or variable (undefined: none). */
export function oversizedValue(
  limits: ValueLimits,
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
  known?: WeakMap<DocumentNode, DocumentVerdict>,
): GraphQLError | undefined {
  let verdict = known?.get(document);
  if (!verdict) {
    verdict = readDocument(document, limits);
    known?.set(document, verdict);
  }
  if (verdict.literal) return new GraphQLError(verdict.literal.message, { extensions: verdict.literal.extensions }); // fresh per request
  if (!variables) return undefined;
  for (const [name, place] of verdict.uses) {
    if (!(name in variables)) continue;
    const found = checkValue(variables[name], place, limits);
    if (found) return found;
  }
  return undefined;
}

export function valueLimitsPlugin<TContext extends BaseContext>(limits: ValueLimits): ApolloServerPlugin<TContext> {
  // Apollo Server keeps one parsed document per distinct query: its literals are read once.
  const known = new WeakMap<DocumentNode, DocumentVerdict>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const refused = oversizedValue(limits, document, request.variables, known);
          if (refused) throw refused;
        },
      };
    },
  };
}
