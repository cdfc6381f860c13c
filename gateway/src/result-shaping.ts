// The gateway's last step on every answer: the merged subgraph data cut down to what the client
// asked for, in its order, with the nullability rules applied (Apollo Gateway's
// `computeResponse`, in @apollo/gateway's resultShaping module). Apollo's version re-reads the
// operation for every object of every list: it filters each selection's directives twice to
// evaluate @skip/@include, follows property getters to each field's definition and type, and
// allocates a result record and assertion closures per value. On the 200-student dashboard that
// was 35 % of the gateway's CPU.
//
// This is the same algorithm, same errors, same output, with each selection set read once per
// answer (its @skip/@include decided and its fields' names and types looked up then) and no
// per-value allocation besides the output. Its output objects are ordinary ones: Apollo's have no
// prototype (Object.create(null)), which V8 keeps as hash tables, slower to fill, larger, and
// written by JSON.stringify on its slow path (2.4× slower for an answer shaped like the
// 200-student dashboard's). An object without a prototype only matters for a response name that
// Object.prototype also has (`__proto__`, `constructor`, `toString`, …); an operation with one
// gets Apollo's kind. `installFastResultShaping` puts it in place of Apollo's function, which
// executeQueryPlan calls through the module's exports object; a test runs both on the same
// inputs and requires identical answers and errors (gateway/test/result-shaping.test.ts), and it
// checks the version it was written against.
// RESULT_SHAPING=apollo keeps Apollo's.
import { createRequire } from "node:module";
import {
  ERRORS,
  Variable,
  isCompositeType,
  isCustomScalarType,
  isObjectType,
  isSubtype,
  isValidLeafValue,
  typenameFieldName,
  type CompositeType,
  type FieldSelection,
  type NamedType,
  type Operation,
  type Schema,
  type Selection,
  type SelectionSet,
  type Type,
} from "@apollo/federation-internals";
import type { GraphQLError } from "graphql";

type Introspection = (selection: FieldSelection) => unknown;
export interface ComputeResponseArgs {
  operation: Operation;
  variables?: Record<string, unknown>;
  input: Record<string, unknown> | null | undefined;
  introspectionHandling: Introspection;
}
export type ComputeResponse = (args: ComputeResponseArgs) => { data: unknown; errors: GraphQLError[] };

/** The @apollo/gateway whose resultShaping module this replaces (its algorithm was read, not guessed). */
export const SHAPED_LIKE_APOLLO_GATEWAY = "2.14.4";

/** One selection, read once per answer: a field (with what it needs) or an inline fragment. */
type Compiled =
  | {
      field: true;
      responseName: string;
      introspection: boolean;
      typename: boolean;
      type: Type;
      selectionSet: SelectionSet | undefined;
      selection: FieldSelection;
    }
  | { field: false; typeCondition: CompositeType | undefined; selectionSet: SelectionSet };

interface Shaping {
  schema: Schema;
  variables: Record<string, unknown>;
  errors: GraphQLError[];
  introspectionHandling: Introspection;
  compiled: Map<SelectionSet, Compiled[]>;
  /** Output objects without a prototype, as Apollo's (see the top of this file). */
  withoutPrototype: boolean;
}

const OK = 0;
const NULL_BUBBLE_UP = 1;

function fail(message: string): never {
  throw new Error(message);
}

function ifValue(
  directive: { arguments(): Record<string, unknown>; toString(): string },
  variables: Record<string, unknown>,
): boolean {
  const ifArg = directive.arguments().if as unknown;
  if (ifArg instanceof Variable) {
    const value = variables[ifArg.name];
    if (value === undefined || typeof value !== "boolean")
      fail(`Unexpected value ${value} for variable ${ifArg} of ${directive}`);
    return value;
  }
  return ifArg as boolean;
}

/** A selection set's selections with @skip/@include decided for this answer's variables. */
function compile(selectionSet: SelectionSet, p: Shaping): Compiled[] {
  let compiled = p.compiled.get(selectionSet);
  if (compiled) return compiled;
  compiled = [];
  const skip = p.schema.skipDirective();
  const include = p.schema.includeDirective();
  for (const selection of selectionSet.selections() as Selection[]) {
    const element = selection.element;
    const skipDirective = element.appliedDirectivesOf(skip)[0];
    const includeDirective = element.appliedDirectivesOf(include)[0];
    if (
      (skipDirective && ifValue(skipDirective, p.variables)) ||
      (includeDirective && !ifValue(includeDirective, p.variables))
    )
      continue;
    if (selection.kind === "FieldSelection") {
      const field = selection.element;
      compiled.push({
        field: true,
        responseName: field.responseName(),
        introspection: field.definition.isSchemaIntrospectionField(),
        typename: field.name === typenameFieldName,
        type: field.definition.type!,
        selectionSet: selection.selectionSet,
        selection,
      });
    } else {
      compiled.push({
        field: false,
        typeCondition: selection.element.typeCondition,
        selectionSet: selection.selectionSet,
      });
    }
  }
  p.compiled.set(selectionSet, compiled);
  return compiled;
}

function typeConditionApplies(
  schema: Schema,
  typeCondition: CompositeType | undefined,
  typename: string | undefined,
  parentType: CompositeType,
): boolean {
  if (!typeCondition) return true;
  if (typename) {
    const type = schema.type(typename);
    return !!type && isSubtype(typeCondition, type);
  }
  return isSubtype(typeCondition, parentType);
}

function pathLastElementDescription(path: (string | number)[], currentType: Type, parentType: CompositeType): string {
  const element = path[path.length - 1];
  if (element === undefined) fail("Should not have been called on an empty path");
  return typeof element === "string"
    ? `field ${parentType}.${element}`
    : `array element of type ${currentType} at index ${element}`;
}

// updateOutputValue's two flags, set by every call (one answer is shaped synchronously).
let isInvalid = false;
let hasErrors = false;

function applySelectionSet(
  input: Record<string, unknown>,
  selectionSet: SelectionSet,
  output: Record<string, unknown>,
  p: Shaping,
  path: (string | number)[],
  parentType: CompositeType,
): number {
  for (const s of compile(selectionSet, p)) {
    if (s.field) {
      const { responseName } = s;
      const outputValue = output[responseName];
      if (s.introspection) {
        if (outputValue === undefined) output[responseName] = p.introspectionHandling(s.selection);
        continue;
      }
      let inputValue = (Object.hasOwn(input, responseName) ? input[responseName] : undefined) ?? null;
      if (s.typename) {
        if (outputValue === undefined) {
          if (inputValue === null && responseName !== typenameFieldName) inputValue = input[typenameFieldName] ?? null;
          const type =
            inputValue !== null && typeof inputValue === "string"
              ? (p.schema.type(inputValue) ?? parentType)
              : parentType;
          if (!isObjectType(type)) return NULL_BUBBLE_UP;
          output[responseName] = type.name;
        }
        continue;
      }
      path.push(responseName);
      const updated = updateOutputValue(outputValue, s.type, inputValue, s.selectionSet, path, p, parentType);
      const invalid = isInvalid;
      output[responseName] = updated;
      path.pop();
      if (invalid) return NULL_BUBBLE_UP;
    } else {
      const typename = input[typenameFieldName];
      if (!(!typename || typeof typename === "string")) fail(`Got unexpected value for __typename: ${typename}`);
      if (typeConditionApplies(p.schema, s.typeCondition, typename as string | undefined, parentType)) {
        if (applySelectionSet(input, s.selectionSet, output, p, path, s.typeCondition ?? parentType) === NULL_BUBBLE_UP)
          return NULL_BUBBLE_UP;
      }
    }
  }
  return OK;
}

/** Custom scalars take any value: that is most leaves here (ids, dates), so it is remembered per type. */
const customScalar = new WeakMap<object, boolean>();

function updateOutputValue(
  outputValue: unknown,
  type: Type,
  inputValue: unknown,
  selectionSet: SelectionSet | undefined,
  path: (string | number)[],
  p: Shaping,
  parentType: CompositeType,
): unknown {
  isInvalid = false;
  hasErrors = false;
  if (inputValue === undefined) fail("Should not pass undefined for `inputValue` to this method");
  if (outputValue === null || (outputValue !== undefined && !selectionSet)) return outputValue;
  if (type.kind === "NonNullType") {
    const updated = updateOutputValue(outputValue, type.ofType, inputValue, selectionSet, path, p, parentType);
    if (updated === null) {
      if (!hasErrors) {
        p.errors.push(
          ERRORS.INVALID_GRAPHQL.err(
            `Cannot return null for non-nullable ${pathLastElementDescription(path, type.ofType, parentType)}.`,
            { path: Array.from(path) },
          ),
        );
      }
      isInvalid = true;
      hasErrors = true;
      return null;
    }
    isInvalid = false;
    hasErrors = false;
    return updated;
  }
  if (inputValue === null) return null;
  if (type.kind === "ListType") {
    if (!Array.isArray(inputValue))
      fail(`Invalid non-list value ${inputValue} returned by subgraph for list type ${type}`);
    if (!(outputValue === undefined || Array.isArray(outputValue)))
      fail(`Invalid non-list value ${outputValue} returned by subgraph for list type ${type}`);
    const outputList = outputValue as unknown[] | undefined;
    if (outputList && inputValue.length !== outputList.length)
      fail(`[${inputValue}].length (${inputValue.length}) !== [${outputList}].length (${outputList.length})`);
    let shouldNullify = false;
    let anyErrors = false;
    const updated = new Array<unknown>(inputValue.length);
    for (let i = 0; i < inputValue.length; i++) {
      path.push(i);
      updated[i] = updateOutputValue(
        outputList ? outputList[i] : undefined,
        type.ofType,
        inputValue[i],
        selectionSet,
        path,
        p,
        parentType,
      );
      path.pop();
      shouldNullify ||= isInvalid;
      anyErrors ||= hasErrors;
    }
    isInvalid = false;
    hasErrors = anyErrors;
    return shouldNullify ? null : updated;
  }
  if (isCompositeType(type)) {
    if (!selectionSet) fail(`Invalid empty selection set for composite type ${type}`);
    if (typeof inputValue !== "object")
      fail(`Invalid non-object value ${inputValue} returned by subgraph for composite type ${type}`);
    if (!(outputValue === undefined || typeof outputValue === "object"))
      fail(`Invalid non-object value ${inputValue} returned by subgraph for composite type ${type}`);
    const inputTypename = (inputValue as Record<string, unknown>)[typenameFieldName];
    if (!(inputTypename === undefined || typeof inputTypename === "string"))
      fail(`Invalid non-string value ${inputTypename} for __typename at ${path}`);
    let objType: CompositeType = type;
    if (inputTypename) {
      const typenameType = p.schema.type(inputTypename);
      if (!typenameType || !isCompositeType(typenameType)) {
        p.errors.push(
          ERRORS.INVALID_GRAPHQL.err(
            `Invalid __typename found for object at ${pathLastElementDescription(path, type, parentType)}.`,
            { path: Array.from(path) },
          ),
        );
        isInvalid = false;
        hasErrors = true;
        return null;
      }
      objType = typenameType;
    }
    const outputObject = (outputValue === undefined ? newObject(p) : outputValue) as Record<string, unknown>;
    const bubbled =
      applySelectionSet(inputValue as Record<string, unknown>, selectionSet, outputObject, p, path, objType) ===
      NULL_BUBBLE_UP;
    isInvalid = false;
    hasErrors = bubbled;
    return bubbled ? null : outputObject;
  }
  if (outputValue !== undefined) fail(`Excepted output to be undefined but got ${type} for type ${type}`);
  let custom = customScalar.get(type);
  if (custom === undefined) customScalar.set(type, (custom = isCustomScalarType(type as NamedType)));
  const valid =
    custom || isValidLeafValue(p.schema, inputValue, type as globalThis.Parameters<typeof isValidLeafValue>[2]);
  if (!valid) {
    p.errors.push(
      ERRORS.INVALID_GRAPHQL.err(`Invalid value found for ${pathLastElementDescription(path, type, parentType)}.`, {
        path: Array.from(path),
      }),
    );
  }
  isInvalid = false;
  hasErrors = !valid;
  return valid ? inputValue : null;
}

/** Whether any response name in the selection set (at any depth, skipped or not) is also a property of Object.prototype. */
function namesObjectPrototype(selectionSet: SelectionSet): boolean {
  for (const selection of selectionSet.selections() as Selection[]) {
    if (selection.kind === "FieldSelection" && selection.element.responseName() in Object.prototype) return true;
    if (selection.selectionSet && namesObjectPrototype(selection.selectionSet)) return true;
  }
  return false;
}
const newObject = (p: Shaping): Record<string, unknown> => (p.withoutPrototype ? Object.create(null) : {});

export const computeResponse: ComputeResponse = ({ operation, variables, input, introspectionHandling }) => {
  if (!input) return { data: input, errors: [] };
  const schema = operation.schema();
  const p: Shaping = {
    schema,
    variables: { __proto__: null, ...operation.collectDefaultedVariableValues(), ...variables } as Record<
      string,
      unknown
    >,
    errors: [],
    introspectionHandling,
    compiled: new Map(),
    withoutPrototype: namesObjectPrototype(operation.selectionSet),
  };
  const data = newObject(p);
  const result = applySelectionSet(
    input,
    operation.selectionSet,
    data,
    p,
    [],
    schema.schemaDefinition.rootType(operation.rootKind)!,
  );
  return { data: result === NULL_BUBBLE_UP ? null : data, errors: p.errors };
};

const require = createRequire(import.meta.url);

/** The module executeQueryPlan calls `computeResponse` through. */
const apolloShaping = require("@apollo/gateway/dist/resultShaping.js") as { computeResponse: ComputeResponse };

/** Apollo's own function (for the test that compares the two). */
export const apolloComputeResponse = apolloShaping.computeResponse;

/**
 * Puts `computeResponse` in place of Apollo Gateway's. Returns false (and changes nothing) when
 * the installed @apollo/gateway is not the version it was written against.
 */
export function installFastResultShaping(): boolean {
  const version = (require("@apollo/gateway/package.json") as { version: string }).version;
  if (version !== SHAPED_LIKE_APOLLO_GATEWAY) return false;
  apolloShaping.computeResponse = computeResponse;
  return true;
}

/** Puts Apollo's own function back (RESULT_SHAPING=apollo). */
export function useApolloResultShaping(): void {
  apolloShaping.computeResponse = apolloComputeResponse;
}
