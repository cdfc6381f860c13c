// Text a service can store: every string argument of an operation, inline or in variables,
// is checked once at the subgraph's edge before any resolver runs. A NUL character or a lone
// UTF-16 surrogate cannot be stored in Postgres text (or becomes U+FFFD on the way), so it is
// refused as BAD_USER_INPUT naming the field, not discovered as a database error.
import { GraphQLError, Kind, visit, type DocumentNode, type ValueNode } from "graphql";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";

export function unstorableText(value: string): string | null {
  if (value.includes("\u0000")) return "contains a NUL character";
  if (!value.isWellFormed()) return "contains a lone UTF-16 surrogate";
  return null;
}

function refuse(field: string, problem: string): GraphQLError {
  return new GraphQLError(`${field} ${problem}, which cannot be stored.`, {
    extensions: { code: "BAD_USER_INPUT", field, http: { status: 400 } },
  });
}

/** Whether any string in a value (keys included) cannot be stored: a scan that builds nothing. */
function holdsUnstorableText(value: unknown): boolean {
  if (typeof value === "string") return unstorableText(value) !== null;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsUnstorableText(item)) return true;
  } else if (value && typeof value === "object") {
    for (const key in value) {
      if (unstorableText(key) !== null || holdsUnstorableText((value as Record<string, unknown>)[key])) return true;
    }
  }
  return false;
}

/** Refuses a value holding unstorable text, naming where (the path is only built for a value that fails). */
function checkValue(value: unknown, path: string): void {
  if (!holdsUnstorableText(value)) return;
  if (typeof value === "string") {
    throw refuse(path, unstorableText(value)!);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => checkValue(item, `${path}[${i}]`));
  } else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (unstorableText(key)) throw refuse(path, "has a field name that");
      checkValue(item, `${path}.${key}`);
    }
  }
}

/** Where each variable is used (argument, or field of an input literal), to name the field at fault. */
function variableUses(node: ValueNode, path: string, uses: Map<string, string>): void {
  if (node.kind === Kind.VARIABLE && !uses.has(node.name.value)) uses.set(node.name.value, path);
  else if (node.kind === Kind.LIST) node.values.forEach((item, i) => variableUses(item, `${path}[${i}]`, uses));
  else if (node.kind === Kind.OBJECT)
    for (const field of node.fields) variableUses(field.value, `${path}.${field.name.value}`, uses);
}

function checkLiteral(node: ValueNode, path: string): void {
  if (node.kind === Kind.STRING) {
    const problem = unstorableText(node.value);
    if (problem) throw refuse(path, problem);
  } else if (node.kind === Kind.LIST) {
    node.values.forEach((item, i) => checkLiteral(item, `${path}[${i}]`));
  } else if (node.kind === Kind.OBJECT) {
    for (const field of node.fields) checkLiteral(field.value, `${path}.${field.name.value}`);
  }
}

/** Per parsed document (Apollo Server keeps one per distinct query): its literals' verdict and where each variable is used. */
const documents = new WeakMap<DocumentNode, { refusal: GraphQLError | null; uses: Map<string, string> }>();

function readDocument(document: DocumentNode) {
  let known = documents.get(document);
  if (known) return known;
  const uses = new Map<string, string>();
  let refusal: GraphQLError | null = null;
  try {
    visit(document, {
      Argument(node) {
        checkLiteral(node.value, node.name.value);
        variableUses(node.value, node.name.value, uses);
        return false; // its value is walked above; nested arguments cannot occur inside values
      },
    });
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    refusal = error;
  }
  documents.set(document, (known = { refusal, uses }));
  return known;
}

export function storableTextPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const { refusal, uses } = readDocument(document);
          if (refusal) throw new GraphQLError(refusal.message, { extensions: refusal.extensions }); // a fresh error for each request
          for (const [name, value] of Object.entries(request.variables ?? {}))
            checkValue(value, uses.get(name) ?? name);
        },
      };
    },
  };
}
