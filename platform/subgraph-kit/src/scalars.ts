// Date (YYYY-MM-DD, a calendar day) and DateTime (ISO-8601 instant) scalars.
import { GraphQLError, GraphQLScalarType, Kind } from "graphql";

const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
/** Days and instants a university panel can mean: anything outside is a typo or an attack (Postgres has no year 0). */
export const FIRST_YEAR = 1900;
export const LAST_YEAR = 2200;

function inYearRange(date: Date, what: string): Date {
  const year = date.getUTCFullYear();
  if (year < FIRST_YEAR || year > LAST_YEAR) {
    throw new GraphQLError(`${what} must be between the years ${FIRST_YEAR} and ${LAST_YEAR}.`, {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  return date;
}

/** A calendar day as a UTC-midnight Date (how Prisma reads and writes @db.Date). */
export function parseDay(value: unknown): Date {
  if (typeof value !== "string" || !DATE_PATTERN.test(value)) {
    throw new GraphQLError("Date must be a YYYY-MM-DD string.", { extensions: { code: "BAD_USER_INPUT" } });
  }
  const date = new Date(`${value}T00:00:00.000Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
    throw new GraphQLError(`${value} is not a calendar date.`, { extensions: { code: "BAD_USER_INPUT" } });
  }
  return inYearRange(date, "A date");
}

export function formatDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export const DateScalar = new GraphQLScalarType({
  name: "Date",
  description: "A calendar day, YYYY-MM-DD.",
  serialize: (value) => (value instanceof Date ? formatDay(value) : String(value)),
  parseValue: parseDay,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING)
      throw new GraphQLError("Date must be a string.", { extensions: { code: "BAD_USER_INPUT" } });
    return parseDay(ast.value);
  },
});

const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export function parseInstant(value: unknown): Date {
  const date = typeof value === "string" && INSTANT_PATTERN.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new GraphQLError("DateTime must be an ISO-8601 instant such as 2026-09-01T08:00:00Z.", {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  return inYearRange(date, "An instant");
}

export const DateTimeScalar = new GraphQLScalarType({
  name: "DateTime",
  description: "An instant, ISO-8601 in UTC.",
  serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
  parseValue: parseInstant,
  parseLiteral: (ast) => parseInstant(ast.kind === Kind.STRING ? ast.value : undefined),
});
