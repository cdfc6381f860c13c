// Identity assertions signed once per viewer (and client address) per half lifetime, not once
// per request: subgraphs accept an assertion for its whole lifetime (60 s), so one signed 20 s
// ago says exactly what a fresh one would. Reusing it for at most half its lifetime leaves every
// subgraph call at least 30 s of validity.
import { LRUCache } from "lru-cache";
import { ASSERTION_LIFETIME_SECONDS, type Viewer } from "@pooya/identity";

type Sign = (viewer: Viewer, clientIp: string) => Promise<string>;

export function reusingAssertionSigner(sign: Sign, { reuseMs = (ASSERTION_LIFETIME_SECONDS * 1000) / 2, max = 10_000 } = {}): Sign {
  const signed = new LRUCache<string, { assertion: Promise<string>; at: number }>({ max });
  return (viewer, clientIp) => {
    const key = viewer ? `${viewer.userId}\u0000${viewer.role}\u0000${clientIp}` : `\u0000anonymous\u0000${clientIp}`;
    const now = Date.now();
    const known = signed.get(key);
    if (known && now - known.at < reuseMs) return known.assertion;
    const assertion = sign(viewer, clientIp);
    signed.set(key, { assertion, at: now });
    assertion.catch(() => signed.delete(key)); // a failed signature is not reused
    return assertion;
  };
}
