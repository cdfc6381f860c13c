// Rate limits with rate-limiter-flexible: counted in Redis when REDIS_URL is set (shared by every
// replica), in memory otherwise (right for one process). While Redis cannot be reached, each
// process counts in memory instead ("insurance"), so an outage of Redis neither blocks nor
// unblocks everybody.
import ipaddr from "ipaddr.js";
import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Logger } from "./logging.ts";

/**
 * The client a per-client limit counts, from its address: an IPv4 address as it is; an IPv6
 * address by its /64, the prefix one subscriber or host gets (it picks any of 2^64 addresses
 * in it, and privacy extensions rotate them), so walking through its own prefix is one client;
 * an IPv4-mapped IPv6 address (::ffff:192.0.2.1) as the IPv4 one. Anything else as it is.
 */
export function clientAddressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address); // unmaps ::ffff:a.b.c.d; drops an IPv6 zone
  if (parsed.kind() === "ipv4") return parsed.toString();
  const { parts } = parsed as ipaddr.IPv6;
  return `${new ipaddr.IPv6([...parts.slice(0, 4), 0, 0, 0, 0]).toString()}/64`;
}

export interface LimitPolicy {
  /** Attempts allowed in the window. */
  points: number;
  windowSeconds: number;
}

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimit {
  /** Counts one attempt for `key`; refuses when the window's allowance is used up. */
  consume(key: string): Promise<LimitDecision>;
  /** Forgets `key`'s attempts (e.g. after a successful sign-in). */
  reset(key: string): Promise<void>;
}

export interface RateLimitStore {
  limit(name: string, policy: LimitPolicy): RateLimit;
  close(): Promise<void>;
}

/** `redisUrl` unset: counts live in this process. */
export function createRateLimitStore(options: { redisUrl?: string; prefix: string; log: Logger }): RateLimitStore {
  const redis = options.redisUrl
    ? new Redis(options.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 1_000,
        commandTimeout: 500,
        lazyConnect: false,
      })
    : undefined;
  if (redis) {
    let down = false;
    redis.on("error", (error: Error) => {
      if (!down)
        options.log.warn(
          { err: { message: error.message } },
          "rate limits: Redis unreachable, counting in memory meanwhile",
        );
      down = true;
    });
    redis.on("ready", () => {
      if (down) options.log.info("rate limits: Redis reachable again");
      down = false;
    });
  }
  return {
    limit(name, policy) {
      const settings = {
        keyPrefix: `${options.prefix}:${name}`,
        points: policy.points,
        duration: policy.windowSeconds,
      };
      const memory = new RateLimiterMemory(settings);
      const limiter: RateLimiterAbstract = redis
        ? new RateLimiterRedis({
            ...settings,
            storeClient: redis,
            rejectIfRedisNotReady: true,
            insuranceLimiter: memory,
          })
        : memory;
      return {
        async consume(key) {
          try {
            await limiter.consume(key);
            return { allowed: true };
          } catch (rejection) {
            if (rejection instanceof RateLimiterRes)
              return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
            throw rejection;
          }
        },
        async reset(key) {
          await limiter.delete(key).catch(() => undefined);
        },
      };
    },
    async close() {
      redis?.disconnect();
    },
  };
}
