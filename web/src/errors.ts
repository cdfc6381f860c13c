// API errors in words a person understands, and where on the page they belong: a form field
// (extensions.field) or the form as a whole.
import { CombinedGraphQLErrors, ServerError } from "@apollo/client";

export interface Problem {
  message: string;
  /** The input field it is about, when the API says (extensions.field). */
  field?: string;
  code?: string;
}

const WORDS: Record<string, string> = {
  FORBIDDEN: "You are not allowed to do that.",
  NOT_FOUND: "That no longer exists. Reload the page to see what is current.",
  INSUFFICIENT_FUNDS: "Your wallet balance is too low for this order. Ask the staff office to top it up.",
  SOLD_OUT: "This meal is sold out.",
  SERVICE_UNAVAILABLE: "This part of Pooya is not available right now. Please try again in a moment.",
  GATEWAY_TIMEOUT: "This took too long to answer. Please try again in a moment.",
  INTERNAL_SERVER_ERROR:
    "Something went wrong on our side. Please try again; if it keeps happening, tell the staff office.",
};

/** Codes whose message the API writes for people (which field, what is wrong with it). */
const SERVER_WORDS = new Set(["BAD_USER_INPUT", "CONFLICT", "NOT_ENROLLED", "UNAUTHENTICATED"]);

export function problemsOf(error: unknown): Problem[] {
  if (!error) return [];
  if (CombinedGraphQLErrors.is(error)) {
    return error.errors.map((e) => {
      const code = typeof e.extensions?.code === "string" ? e.extensions.code : undefined;
      const field = typeof e.extensions?.field === "string" ? e.extensions.field : undefined;
      if (code === "TOO_MANY_REQUESTS") {
        const seconds = Number(e.extensions?.retryAfterSeconds);
        return {
          code,
          message: `Too many attempts. Please wait${seconds > 0 ? ` ${seconds} seconds` : " a moment"} and try again.`,
        };
      }
      const message = code && SERVER_WORDS.has(code) ? e.message : ((code && WORDS[code]) ?? e.message);
      return { code, field, message };
    });
  }
  if (ServerError.is(error)) {
    if (error.statusCode === 401)
      return [{ code: "UNAUTHENTICATED", message: "Your session has ended. Please sign in again." }];
    if (error.statusCode === 429)
      return [{ code: "TOO_MANY_REQUESTS", message: "Too many attempts. Please wait a moment and try again." }];
    return [{ message: `The server answered ${error.statusCode}. Please try again in a moment.` }];
  }
  return [{ message: "Cannot reach Pooya. Check your connection and try again." }];
}

/** Problems about a field go next to it; the rest go with the form. */
export function splitProblems(error: unknown, fields: string[]) {
  const all = problemsOf(error);
  const byField: Record<string, string> = {};
  const general: Problem[] = [];
  for (const problem of all) {
    const name = problem.field?.split(".").pop();
    if (name && fields.includes(name) && !byField[name]) byField[name] = problem.message;
    else general.push(problem);
  }
  return { byField, general };
}
