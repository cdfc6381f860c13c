// The repo's client operations (operations/**/*.graphql): loaded by name for the seed script,
// validated against the supergraph by schema:check.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Kind, parse, print, type OperationDefinitionNode } from "graphql";

export const OPERATIONS_DIR = fileURLToPath(new URL("../../operations/", import.meta.url));

export function operationFiles(dir = OPERATIONS_DIR): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return operationFiles(path);
    return name.endsWith(".graphql") ? [path] : [];
  });
}

export function loadOperations(file: string): Map<string, string> {
  const document = parse(readFileSync(file, "utf8"));
  const operations = new Map<string, string>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION || !definition.name) {
      throw new Error(`${relative(OPERATIONS_DIR, file)}: every operation needs a name`);
    }
    operations.set(definition.name.value, print(definition as OperationDefinitionNode));
  }
  return operations;
}
