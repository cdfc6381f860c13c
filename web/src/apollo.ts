// The GraphQL client: Apollo Client over HTTP to the gateway's /graphql on the same origin.
//   - operations go as their SHA-256 (trusted documents): the gateway knows every operation of
//     this client, so the query text never travels;
//   - the access token is attached and refreshed (rotating the refresh token) a minute before it
//     expires, once for all requests in flight; a refresh token that is refused signs out;
//   - an UNAUTHENTICATED answer or an HTTP 401 signs the user out cleanly (cache cleared).
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, ServerError } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";
import { SetContextLink } from "@apollo/client/link/context";
import { ErrorLink } from "@apollo/client/link/error";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import type { DocumentNode } from "graphql";
import * as operations from "./gql/graphql";
import { RefreshSessionDocument } from "./gql/graphql";
import { getSession, onSessionChange, sessionFrom, setSession, type Session } from "./session";

/** Operations that carry no access token (they are how one is obtained). */
const ANONYMOUS = new Set(["SignIn", "RefreshSession", "SignOut"]);
/** Refresh this long before the access token expires. */
const REFRESH_AHEAD_MS = 60_000;

/**
 * Operation name → the hash graphql-codegen gave its document at build time (the trusted
 * documents' key). Apollo Client hands the link a transformed copy of the document, without the
 * embedded hash, so the link finds it by the operation's name.
 */
const HASHES = new Map<string, string>();
for (const value of Object.values(operations)) {
  const hash = (value as { __meta__?: { hash?: string } } | undefined)?.__meta__?.hash;
  const operation = (value as DocumentNode).definitions?.find((d) => d.kind === "OperationDefinition");
  if (hash && operation?.name) HASHES.set(operation.name.value, hash.replace(/^sha256:/, ""));
}

const operationName = (document: DocumentNode) => {
  const operation = document.definitions.find((d) => d.kind === "OperationDefinition");
  return operation?.kind === "OperationDefinition" ? operation.name?.value : undefined;
};
const documentHash = (document: DocumentNode) => HASHES.get(operationName(document) ?? "")!;

/** Why a session ended, in words: a deactivated account is told so (signing in again will not help). */
function endedBecause(error: unknown): string {
  const deactivated =
    CombinedGraphQLErrors.is(error) && error.errors.some((e) => e.extensions?.reason === "ACCOUNT_DEACTIVATED");
  return deactivated
    ? "Your account has been deactivated. Ask the staff office to reactivate it."
    : "Your session has ended. Please sign in again.";
}

let refreshing: Promise<Session | null> | null = null;

/** One refresh at a time: everything waiting for a token waits for the same one. */
export function refreshSession(): Promise<Session | null> {
  refreshing ??= (async () => {
    const session = getSession();
    if (!session) return null;
    try {
      const { data } = await client.mutate({
        mutation: RefreshSessionDocument,
        variables: { refreshToken: session.refreshToken },
      });
      if (!data) throw new Error("no session in the answer");
      const next = sessionFrom(data.refreshToken);
      setSession(next);
      return next;
    } catch (error) {
      if (CombinedGraphQLErrors.is(error) && error.errors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) {
        signOutLocally(endedBecause(error));
        return null;
      }
      return getSession(); // the server could not be reached: keep the session, try again later
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function accessToken(): Promise<string | undefined> {
  let session = getSession();
  if (session && session.expiresAt - Date.now() < REFRESH_AHEAD_MS) session = await refreshSession();
  return session?.accessToken;
}

const auth = new SetContextLink(async (context, operation) => {
  if (ANONYMOUS.has(operation.operationName ?? "")) return context;
  const token = await accessToken();
  return token ? { ...context, headers: { ...context.headers, authorization: `Bearer ${token}` } } : context;
});

const signOutOnUnauthenticated = new ErrorLink(({ error, operation }) => {
  if (ANONYMOUS.has(operation.operationName ?? "")) return;
  const unauthenticated =
    (ServerError.is(error) && error.statusCode === 401) ||
    (CombinedGraphQLErrors.is(error) && error.errors.some((e) => e.extensions?.code === "UNAUTHENTICATED"));
  if (unauthenticated && getSession()) signOutLocally(endedBecause(error));
});

export const client = new ApolloClient({
  link: ApolloLink.from([
    signOutOnUnauthenticated,
    auth,
    // An operation without a build-time hash (none today) goes as text: hashing it here would
    // need crypto.subtle, which exists only in secure contexts (not over http on a LAN address).
    ApolloLink.split(
      (operation) => HASHES.has(operation.operationName ?? ""),
      ApolloLink.from([new PersistedQueryLink({ generateHash: documentHash }), new HttpLink({ uri: "/graphql" })]),
      new HttpLink({ uri: "/graphql" }),
    ),
  ]),
  cache: new InMemoryCache({
    // The pages of a connection are kept as one list (a page that needs every item asks for the rest).
    typePolicies: {
      Course: { fields: { studentsConnection: relayStylePagination() } },
      User: { fields: { attendanceConnection: relayStylePagination(["courseId"]) } },
      Query: { fields: { myOrdersConnection: relayStylePagination() } },
    },
  }),
  defaultOptions: { watchQuery: { fetchPolicy: "cache-and-network" } },
});

export function signOutLocally(reason?: string) {
  setSession(null, reason);
}

// A signed-out session leaves nothing behind in the cache; a refresh is scheduled ahead of expiry.
let timer: ReturnType<typeof setTimeout> | undefined;
function schedule(session: Session | null) {
  clearTimeout(timer);
  if (!session) {
    void client.clearStore();
    return;
  }
  timer = setTimeout(() => void refreshSession(), Math.max(1_000, session.expiresAt - Date.now() - REFRESH_AHEAD_MS));
}
onSessionChange((session) => schedule(session));
schedule(getSession());
