// Text a service can store: every string argument of an operation, inline or in variables,
// is checked once at the subgraph's edge before any resolver runs. A NUL character or a lone
// UTF-16 surrogate cannot be stored in Postgres text (or becomes U+FFFD on the way), so it is
// refused as BAD_USER_INPUT naming the field, not discovered as a database error.
import { GraphQLError, Kind, visit, type ValueNode } from "graphql";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";

export function unstorableText(value: string): string | null {
  if (value.includes("\u0000")) return "contains a NUL character";
  if (!value.isWellFormed()) return "contains a lone UTF-16 surrogate";
  return null;
}

function refuse(field: string, problem: string): GraphQLError {
  return new GraphQLError(`${field} ${problem}, which cannot be stored.`, { extensions: { code: "BAD_USER_INPUT", field, http: { status: 400 } } });
}

function checkValue(value: unknown, path: string): void {
  if (typeof value === "string") {
    const problem = unstorableText(value);
    if (problem) throw refuse(path, problem);
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
  else if (node.kind === Kind.OBJECT) for (const field of node.fields) variableUses(field.value, `${path}.${field.name.value}`, uses);
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

export function storableTextPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const uses = new Map<string, string>();
          visit(document, {
            Argument(node) {
              checkLiteral(node.value, node.name.value);
              variableUses(node.value, node.name.value, uses);
              return false; // its value is walked above; nested arguments cannot occur inside values
            },
          });
          for (const [name, value] of Object.entries(request.variables ?? {})) checkValue(value, uses.get(name) ?? name);
        },
      };
    },
  };
}
