// Input checks shared by the services; each failure is a BAD_USER_INPUT naming the field.
import { badUserInput } from "@pooya/runtime";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot name a row, so callers treat it as "not found". */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_PATTERN.test(value);
}

export function requireText(value: string, field: string, { min = 1, max = 200 } = {}): string {
  const trimmed = value.trim();
  if (trimmed.length < min || trimmed.length > max) {
    throw badUserInput(`${field} must be ${min} to ${max} characters.`, field);
  }
  return trimmed;
}

export function requireIntRange(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badUserInput(`${field} must be a whole number from ${min} to ${max}.`, field);
  }
  return value;
}
