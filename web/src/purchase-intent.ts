// Idempotency keys for purchases, made with crypto.getRandomValues: crypto.randomUUID exists only
// in secure contexts (https, localhost), and the panel is also opened over plain http on a LAN
// address or a development hostname.
import { CombinedGraphQLErrors } from "@apollo/client";

/** A random UUID (version 4) from getRandomValues, which every browser context has. */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Codes after which the server may or may not have made the order (it did not say). */
const OUTCOME_UNKNOWN = new Set(["GATEWAY_TIMEOUT", "SERVICE_UNAVAILABLE", "INTERNAL_SERVER_ERROR"]);

/**
 * Whether an answer settles a purchase: an order, or a refusal the server decided (sold out,
 * insufficient funds, bad input…). No answer at all, a timeout or an unavailable service leaves
 * it open: trying again must send the same key, so the order is made (and charged) at most once.
 */
export function purchaseSettled(result: { data?: unknown; error?: unknown }): boolean {
  if (result.data) return true;
  if (!CombinedGraphQLErrors.is(result.error)) return false;
  return result.error.errors.every((e) => !OUTCOME_UNKNOWN.has(String(e.extensions?.code)));
}

/**
 * One purchase intent's key. A click starts a new intent once the last one is settled; until
 * then (in flight, or its answer lost) every click sends the same key. The further clicks of a
 * double or triple click (event.detail > 1) join the intent of the first even if it has already
 * been answered, so a double click makes one order however fast the answer comes.
 */
export class PurchaseIntent {
  private key: string | undefined;
  private open = false;

  /** The key to send for a click (`clicks`: event.detail; 1 for Enter). */
  keyFor(clicks: number): string {
    if (this.key === undefined || (!this.open && clicks <= 1)) this.key = newIdempotencyKey();
    this.open = true;
    return this.key;
  }

  /** The answer for `key` arrived: settled or not (an older key's answer changes nothing). */
  answered(key: string, settled: boolean): void {
    if (key === this.key && settled) this.open = false;
  }

  /** What is bought changed (another quantity): the next click is a new purchase. */
  reset(): void {
    this.key = undefined;
    this.open = false;
  }
}
