// What a resolver's selection asks for, so that a batch read fetches only those columns.
import { Kind, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";

const namesByFieldNodes = new WeakMap<GraphQLResolveInfo["fieldNodes"], ReadonlySet<string>>();

/**
 * The field names selected on a resolver's result, one level down, through fragments (of any
 * type condition: a superset is safe). Worked out once per field of an operation: every item of
 * a list shares its `fieldNodes`.
 */
export function selectedFieldNames(info: Pick<GraphQLResolveInfo, "fieldNodes" | "fragments">): ReadonlySet<string> {
  let names = namesByFieldNodes.get(info.fieldNodes);
  if (!names) {
    const found = new Set<string>();
    const visit = (set: SelectionSetNode | undefined, seen: Set<string>) => {
      for (const selection of set?.selections ?? []) {
        if (selection.kind === Kind.FIELD) found.add(selection.name.value);
        else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet, seen);
        else if (!seen.has(selection.name.value)) {
          seen.add(selection.name.value);
          visit((info.fragments[selection.name.value] as FragmentDefinitionNode | undefined)?.selectionSet, seen);
        }
      }
    };
    for (const node of info.fieldNodes) visit(node.selectionSet, new Set());
    names = found;
    namesByFieldNodes.set(info.fieldNodes, names);
  }
  return names;
}

/**
 * The SQL select list for a selection: `columns` maps a GraphQL field to the expression that
 * yields it (aliased to the property its resolver reads); `always` are needed whatever is asked
 * (keys to group rows by). Fields without a column (e.g. `__typename`) are skipped. Stable order,
 * so the same selection gives the same text (and the same batch).
 */
export function selectColumns(
  info: Pick<GraphQLResolveInfo, "fieldNodes" | "fragments">,
  columns: Readonly<Record<string, string>>,
  always: readonly string[],
): string {
  let byColumns = selectListsByFieldNodes.get(info.fieldNodes);
  if (!byColumns) selectListsByFieldNodes.set(info.fieldNodes, (byColumns = new Map()));
  let list = byColumns.get(columns);
  if (list === undefined) {
    const names = selectedFieldNames(info);
    const picked = new Set(always);
    for (const [field, sql] of Object.entries(columns)) if (names.has(field)) picked.add(sql);
    list = [...picked].join(", ");
    byColumns.set(columns, list);
  }
  return list;
}

/** Per field of an operation (every list item shares it) and column map: the select list. */
const selectListsByFieldNodes = new WeakMap<GraphQLResolveInfo["fieldNodes"], Map<object, string>>();

/**
 * selectColumns for a typed query builder: the selections (a Kysely column such as
 * `"created_at as createdAt"`, or any value) of the fields asked for, and `always` first. Same
 * order; cached per field node, column map and `always` (pass constant arrays); `key` names the
 * fields picked (for loaders per select list).
 */
export function selectedColumns<Selection>(
  info: Pick<GraphQLResolveInfo, "fieldNodes" | "fragments">,
  columns: Readonly<Record<string, Selection>>,
  always: readonly Selection[],
): { key: string; list: readonly Selection[] } {
  let byColumns = selectionsByFieldNodes.get(info.fieldNodes);
  if (!byColumns) selectionsByFieldNodes.set(info.fieldNodes, (byColumns = new Map()));
  let byAlways = byColumns.get(columns);
  if (!byAlways) byColumns.set(columns, (byAlways = new Map()));
  let picked = byAlways.get(always) as { key: string; list: readonly Selection[] } | undefined;
  if (picked === undefined) {
    const names = selectedFieldNames(info);
    const fields = Object.keys(columns).filter((field) => names.has(field));
    picked = { key: fields.join(","), list: [...new Set([...always, ...fields.map((field) => columns[field]!)])] };
    byAlways.set(always, picked);
  }
  return picked;
}

const selectionsByFieldNodes = new WeakMap<GraphQLResolveInfo["fieldNodes"], Map<object, Map<object, unknown>>>();
