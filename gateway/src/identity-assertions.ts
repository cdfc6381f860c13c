// Identity assertions signed once per viewer (and client address) per half lifetime, not once
// per request: subgraphs accept an assertion for its whole lifetime (60 s), so one signed 20 s
// ago says exactly what a fresh one would. Reusing it for at most half its lifetime leaves every
// subgraph call at least 30 s of validity.
// Bounded by entries and bytes (ASSERTION_CACHE_MAX_*): the key, and an assertion of about 400 characters.
import { boundedCache, type CacheBounds, type TrackedCache } from "@pooya/runtime";
import { ASSERTION_LIFETIME_SECONDS, type Viewer } from "@pooya/identity";

type Sign = (viewer: Viewer, clientIp: string) => Promise<string>;

/** Bytes an entry's value holds: the signed assertion (a string, once settled) and its promise. */
const ASSERTION_BYTES = 500;

export const ASSERTIONS_CACHED: CacheBounds = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 };

export function reusingAssertionSigner(
  sign: Sign,
  { reuseMs = (ASSERTION_LIFETIME_SECONDS * 1000) / 2, bounds = ASSERTIONS_CACHED } = {},
): Sign & { cache: TrackedCache } {
  const signed = boundedCache<string, { assertion: Promise<string>; at: number }>(
    "identity-assertions",
    bounds,
    () => ASSERTION_BYTES,
  );
  return Object.assign(
    (viewer: Viewer, clientIp: string) => {
      const key = viewer ? `${viewer.userId}\u0000${viewer.role}\u0000${clientIp}` : `\u0000anonymous\u0000${clientIp}`;
      const now = Date.now();
      const known = signed.get(key);
      if (known && now - known.at < reuseMs) return known.assertion;
      const assertion = sign(viewer, clientIp);
      signed.set(key, { assertion, at: now });
      assertion.catch(() => signed.delete(key)); // a failed signature is not reused
      return assertion;
    },
    { cache: signed },
  );
}
