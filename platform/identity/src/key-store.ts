// Public keys fetched from another service's JWKS (access-token keys at the gateway, the
// gateway's assertion keys at the subgraphs), kept for as long as that service cannot be
// reached: an outage of the publisher must not turn valid tokens into "invalid token".
// Refreshed in the background after `refreshAfterMs`, and at once (at most every
// `cooldownMs`) when a token names a key id it does not know.
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { request } from "undici";
import { boundedCache, errorFields, type CacheBounds, type Logger } from "@pooya/runtime";

/** The keys are needed but cannot be fetched: the caller should try again shortly (HTTP 503). */
export class KeysUnavailableError extends Error {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface KeyStoreOptions {
  /** Whose keys, for logs. */
  name: string;
  url: string;
  log: Logger;
  timeoutMs?: number;
  refreshAfterMs?: number;
  cooldownMs?: number;
}

export interface KeyStoreStatus {
  loaded: boolean;
  /** The last fetch failed: verifying with the keys fetched before (no age limit). */
  stale: boolean;
  fetchedAt: string | null;
  lastError?: string;
}

export function createKeyStore(options: KeyStoreOptions) {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const refreshAfterMs = options.refreshAfterMs ?? 10 * 60_000;
  const cooldownMs = options.cooldownMs ?? 5_000;
  let keys: JWTVerifyGetKey | undefined;
  let fetchedAt = 0;
  let lastAttemptAt = 0;
  let lastError: string | undefined;
  let inFlight: Promise<void> | undefined;

  async function fetchKeys(): Promise<void> {
    lastAttemptAt = Date.now();
    try {
      const response = await request(options.url, {
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const body = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
      const jwks = JSON.parse(body) as JSONWebKeySet;
      if (!Array.isArray(jwks.keys)) throw new Error("not a JWKS");
      keys = createLocalJWKSet(jwks);
      if (lastError) options.log.info({ keys: options.name }, "keys fetched again");
      fetchedAt = Date.now();
      lastError = undefined;
    } catch (error) {
      if (!lastError) {
        options.log.warn(
          { keys: options.name, url: options.url, err: errorFields(error), kept: Boolean(keys) },
          keys ? "cannot refresh keys; verifying with the ones fetched before" : "cannot fetch keys",
        );
      }
      lastError = (error as Error).message;
    }
  }

  /** One fetch at a time; callers arriving meanwhile wait for it. */
  function refresh(): Promise<void> {
    inFlight ??= fetchKeys().finally(() => (inFlight = undefined));
    return inFlight;
  }

  const unavailable = () =>
    new KeysUnavailableError(`the ${options.name} keys cannot be fetched right now`, Math.ceil(cooldownMs / 1000));

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!keys) {
      await refresh();
      if (!keys) throw unavailable();
    }
    try {
      const key = await keys(header, token);
      // Old keys are refreshed in the background (once per refreshAfterMs, even while it fails).
      if (Date.now() - lastAttemptAt > refreshAfterMs) void refresh();
      return key;
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      // A key id we do not know: new keys were published (rotation), or the token is forged.
      if (inFlight) await inFlight;
      else if (Date.now() - lastAttemptAt >= cooldownMs) await refresh();
      // Only an answer from the publisher can say the key does not exist.
      if (lastError) throw unavailable();
      return keys(header, token);
    }
  };

  return {
    getKey,
    /** Fetches now (at start); failures are kept for status() and retried on demand. */
    load: refresh,
    /** When the current keys were fetched (ms; 0: never): changes whenever a new set arrives. */
    fetchedAtMs: () => fetchedAt,
    /** What getKey does on every use: refresh old keys in the background (for callers that remember verified tokens). */
    refreshIfDue() {
      if (keys && Date.now() - lastAttemptAt > refreshAfterMs) void refresh();
    },
    status(): KeyStoreStatus {
      return {
        loaded: Boolean(keys),
        stale: Boolean(keys && lastError),
        fetchedAt: fetchedAt ? new Date(fetchedAt).toISOString() : null,
        ...(lastError ? { lastError } : {}),
      };
    },
  };
}

export type KeyStore = ReturnType<typeof createKeyStore>;

/** What a token cache answers for a token it remembers but whose validity has ended. */
export const TOKEN_EXPIRED = Symbol("token expired");

/**
 * Tokens whose signature and claims were verified, remembered until they stop being valid, so a
 * client's next requests skip the signature check (bounded: the least recently used go first).
 * An entry counts only for the key set it was checked against: once the keys are fetched again
 * (a rotation, a withdrawn key) every token is checked again. Only successes are remembered.
 * Bounded by entries and by bytes (the token, its key, and `valueBytes` for what it says).
 */
export function createVerifiedTokenCache<T extends object>(
  keys: { fetchedAtMs(): number },
  bounds: CacheBounds,
  name = "verified-tokens",
  valueBytes = 200,
) {
  const entries = boundedCache<string, { value: T; validUntilMs: number; keysFetchedAt: number }>(
    name,
    bounds,
    () => valueBytes,
  );
  return {
    /** The cache itself (for its gauges). */
    cache: entries,
    /** The remembered answer; undefined when unknown or checked against other keys; TOKEN_EXPIRED once past its validity (and forgotten). */
    get(token: string): T | typeof TOKEN_EXPIRED | undefined {
      const known = entries.get(token);
      if (!known || known.keysFetchedAt !== keys.fetchedAtMs()) return undefined;
      if (known.validUntilMs > Date.now()) return known.value;
      entries.delete(token);
      return TOKEN_EXPIRED;
    },
    set(token: string, value: T, validUntilMs: number) {
      entries.set(token, { value, validUntilMs, keysFetchedAt: keys.fetchedAtMs() });
    },
  };
}
