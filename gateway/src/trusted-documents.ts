// Trusted documents: the operations this repository's clients send (the web client's and
// operations/), by SHA-256, generated at build time into gateway/trusted-documents.json.
//   off      any operation runs; a hash the manifest knows is served from it (else APQ as usual)
//   log      as off, and an operation the manifest does not hold is logged (name and hash)
//   enforce  only the manifest's operations run; anything else: 400 PERSISTED_QUERY_NOT_LISTED
// A client sends { extensions: { persistedQuery: { version: 1, sha256Hash } } } (Apollo Client's
// persisted-query link, GraphQL over HTTP's APQ convention) or { documentId: "sha256:<hash>" }
// (the GraphQL over HTTP draft's persisted documents), over POST or GET.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyReply, FastifyRequest } from "fastify";
import { GraphQLError } from "graphql";
import { boundedCache, errorBody, replyError, type CacheBounds, type Metrics, type TrackedCache } from "@pooya/runtime";

export type TrustedDocumentsMode = "off" | "log" | "enforce";
export const TRUSTED_DOCUMENTS_PATH = fileURLToPath(new URL("../trusted-documents.json", import.meta.url));

export function loadTrustedDocuments(path: string): Map<string, string> {
  if (!existsSync(path)) throw new Error(`${path} is missing: npm run generate writes it`);
  const manifest = JSON.parse(readFileSync(path, "utf8")) as Record<string, string>;
  return new Map(Object.entries(manifest));
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

export const DOCUMENT_HASHES_CACHED: CacheBounds = { maxEntries: 1_000, maxBytes: 4 * 1024 * 1024 };

/**
 * SHA-256 of query texts. Clients send the same few operations over and over: their hashes are
 * remembered (by text; bounded by entries and bytes, DOCUMENT_HASH_CACHE_MAX_*) instead of
 * computed for every request. A text over 20 000 characters is hashed each time.
 */
export function documentHasher(
  bounds: CacheBounds = DOCUMENT_HASHES_CACHED,
): ((text: string) => string) & { cache: TrackedCache } {
  const known = boundedCache<string, string>("document-hashes", bounds, () => 64);
  return Object.assign(
    (text: string) => {
      if (text.length > 20_000) return digest(text);
      let hash = known.get(text);
      if (hash === undefined) known.set(text, (hash = digest(text)));
      return hash;
    },
    { cache: known },
  );
}

interface GraphQLParams {
  query?: unknown;
  operationName?: unknown;
  documentId?: unknown;
  extensions?: unknown;
}

/** The hash a request names, from either convention. */
function requestedHash(params: GraphQLParams): string | undefined {
  let extensions = params.extensions;
  if (typeof extensions === "string") {
    try {
      extensions = JSON.parse(extensions);
    } catch {
      return undefined; // Apollo answers the malformed parameter
    }
  }
  const persisted = (extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery
    ?.sha256Hash;
  if (typeof persisted === "string") return persisted.toLowerCase();
  if (typeof params.documentId === "string") return params.documentId.replace(/^sha256:/i, "").toLowerCase();
  return undefined;
}

function withoutPersistedQuery(extensions: unknown): unknown {
  if (typeof extensions === "string") {
    try {
      return withoutPersistedQuery(JSON.parse(extensions));
    } catch {
      return extensions;
    }
  }
  if (!extensions || typeof extensions !== "object") return extensions;
  const { persistedQuery: _, ...rest } = extensions as Record<string, unknown>;
  return rest;
}

/** `url` with its query string made of `params` (objects as JSON, as GraphQL over HTTP's GET has them). */
function withSearch(url: string, params: GraphQLParams): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    if (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0) continue;
    search.set(name, typeof value === "string" ? value : JSON.stringify(value));
  }
  const path = url.split("?")[0]!;
  return `${path}?${search.toString()}`;
}

export const NOT_LISTED_MESSAGE =
  "This operation is not one of this API's trusted documents. Send a listed operation by its hash; new operations are added to the manifest at build time (docs/web.md).";

/**
 * A preHandler for /graphql that resolves listed hashes to their document and applies the mode.
 * `onOutcome` counts what happened (listed, unlisted, none).
 */
export function trustedDocumentsHandler(
  mode: TrustedDocumentsMode,
  manifest: Map<string, string>,
  onOutcome: (outcome: "listed" | "unlisted" | "none") => void,
  sha256: (text: string) => string = documentHasher(),
) {
  return async function trustedDocuments(request: FastifyRequest, reply: FastifyReply) {
    const params = (request.method === "GET" ? request.query : request.body) as GraphQLParams | undefined;
    if (!params || typeof params !== "object" || Array.isArray(params)) return; // Apollo refuses it
    const hash = requestedHash(params);
    const query = typeof params.query === "string" ? params.query : undefined;
    if (hash === undefined && query === undefined) {
      onOutcome("none");
      return; // the explorer's page, or a request Apollo answers as malformed
    }
    const document =
      hash !== undefined ? manifest.get(hash) : manifest.get(sha256(query!)) !== undefined ? query : undefined;
    if (document !== undefined) {
      onOutcome("listed");
      // The document is ours: it runs as a plain query, whatever APQ's cache holds.
      params.query = document;
      delete params.documentId;
      if (params.extensions !== undefined) params.extensions = withoutPersistedQuery(params.extensions);
      // Apollo reads a GET's parameters from the URL, not from the parsed query: write them back.
      if (request.method === "GET") request.raw.url = withSearch(request.raw.url ?? "/", params);
      return;
    }
    onOutcome("unlisted");
    if (mode === "enforce") {
      return replyError(request, reply, 400, errorBody(NOT_LISTED_MESSAGE, "PERSISTED_QUERY_NOT_LISTED"));
    }
    if (mode === "log") {
      request.log.warn(
        {
          operationName: typeof params.operationName === "string" ? params.operationName.slice(0, 100) : undefined,
          hash: hash ?? sha256(query!),
        },
        "operation not in the trusted documents",
      );
    }
    // off/log: a hash we do not list goes on to APQ (PERSISTED_QUERY_NOT_FOUND, then the client sends the text).
  };
}

/** Whether a WebSocket subscription's document may run (enforce: only listed ones). */
export const documentListed = (
  manifest: Map<string, string>,
  query: string,
  sha256: (text: string) => string = digest,
) => manifest.has(sha256(query));

export interface TrustedDocuments {
  mode: TrustedDocumentsMode;
  manifest: Map<string, string>;
}

/** The /graphql preHandler of `trusted`, its outcomes counted (gateway_trusted_documents_total). */
export function trustedDocumentsCheck(trusted: TrustedDocuments, metrics: Metrics, sha256: (text: string) => string) {
  const outcomes = metrics.counter(
    "gateway_trusted_documents_total",
    "GraphQL requests over HTTP by trusted-documents outcome: listed, unlisted (refused with TRUSTED_DOCUMENTS=enforce), none (no operation)",
    ["outcome"] as const,
  );
  return trustedDocumentsHandler(trusted.mode, trusted.manifest, (outcome) => outcomes.inc({ outcome }), sha256);
}

/** For subscriptions over WebSocket: with enforce, refuses a document the manifest does not list. */
export function unlistedDocumentRefusal(
  trusted: TrustedDocuments,
  sha256: (text: string) => string,
): ((query: string) => GraphQLError | undefined) | undefined {
  return trusted.mode === "enforce"
    ? (query) =>
        documentListed(trusted.manifest, query, sha256)
          ? undefined
          : new GraphQLError(NOT_LISTED_MESSAGE, { extensions: { code: "PERSISTED_QUERY_NOT_LISTED" } })
    : undefined;
}
