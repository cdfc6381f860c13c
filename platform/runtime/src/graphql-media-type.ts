// Which of GraphQL over HTTP's two media types an answer is written in, chosen from the request's
// Accept header as Apollo Server chooses it for GraphQL answers, so errors outside GraphQL match.
import Negotiator from "negotiator";

export const GRAPHQL_RESPONSE_JSON = "application/graphql-response+json";
export const APPLICATION_JSON = "application/json";
export type GraphQLMediaType = typeof GRAPHQL_RESPONSE_JSON | typeof APPLICATION_JSON;

const APOLLO_OFFERS = [
  `${APPLICATION_JSON}; charset=utf-8`,
  `${GRAPHQL_RESPONSE_JSON}; charset=utf-8`,
  `${APPLICATION_JSON}; callbackSpec=1.0; charset=utf-8`,
];

/** The media type the client prefers (no Accept: application/json, as Apollo answers). */
export function graphqlMediaType(accept: string | string[] | undefined): GraphQLMediaType {
  const header = Array.isArray(accept) ? accept.join(", ") : accept;
  // An error is sent even to a client that accepts neither (RFC 9110 allows it): as JSON.
  return graphqlAnswerContentType(header) === APOLLO_OFFERS[1] ? GRAPHQL_RESPONSE_JSON : APPLICATION_JSON;
}

const answerTypes = new Map<string, string | null>();

/**
 * The content type Apollo Server writes a single GraphQL answer in for this Accept header, with
 * its charset (null: the client accepts none of them, and Apollo answers 406). Remembered per
 * header (clients send a handful of them).
 */
export function graphqlAnswerContentType(accept: string | undefined): string | null {
  if (!accept) return APOLLO_OFFERS[0]!;
  // Apollo's offers, in its order (application/json first on equal weights).
  let type = answerTypes.get(accept);
  if (type === undefined) {
    type = new Negotiator({ headers: { accept } }).mediaType(APOLLO_OFFERS) ?? null;
    if (answerTypes.size < 100) answerTypes.set(accept, type);
  }
  return type;
}
