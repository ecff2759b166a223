/**
 * Per-client rate limiting (`RATE_LIMIT_PER_MINUTE`): a token bucket per client address that
 * answers 429 with `Retry-After` once a client has used its minute's worth of requests.
 * @module
 */
import { HttpError } from "./errors.ts";

/** Counts requests per client and refuses those over the limit. */
export interface RateLimiter {
  /** Takes one request from `client`'s allowance; throws 429 with `Retry-After` when none is left. */
  check(client: string): void;
  /** Clients currently tracked. */
  readonly size: number;
}

/** Options of {@linkcode createRateLimiter}. */
export interface RateLimiterOptions {
  /** Most clients tracked at once (oldest forgotten first). */
  maxClients?: number;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A limiter allowing `perMinute` requests per client per minute (bursts up to `perMinute`), or
 * `undefined` when `perMinute` is 0 (off).
 * @example
 * ```ts
 * const limiter = createRateLimiter(config.RATE_LIMIT_PER_MINUTE);
 * limiter?.check(clientAddress(info)); // throws HttpError(429) past the limit
 * ```
 */
export function createRateLimiter(
  perMinute: number,
  options: RateLimiterOptions = {},
): RateLimiter | undefined {
  if (perMinute <= 0) return undefined;
  const now = options.now ?? (() => performance.now());
  const maxClients = options.maxClients ?? 10_000;
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, Bucket>();

  const refill = (bucket: Bucket, t: number) => {
    bucket.tokens = Math.min(perMinute, bucket.tokens + (t - bucket.at) * perMs);
    bucket.at = t;
  };

  const makeRoom = (t: number) => {
    for (const [key, bucket] of buckets) {
      refill(bucket, t);
      if (bucket.tokens >= perMinute) buckets.delete(key);
    }
    for (const key of buckets.keys()) {
      if (buckets.size < maxClients) break;
      buckets.delete(key);
    }
  };

  return {
    check(client) {
      const t = now();
      let bucket = buckets.get(client);
      if (!bucket) {
        if (buckets.size >= maxClients) makeRoom(t);
        bucket = { tokens: perMinute, at: t };
        buckets.set(client, bucket);
      }
      refill(bucket, t);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return;
      }
      const waitSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      throw new HttpError(
        429,
        "rate_limited",
        `Too many requests: the limit is ${perMinute} per minute; retry in ${waitSeconds} s`,
        { "retry-after": String(waitSeconds) },
      );
    },
    get size() {
      return buckets.size;
    },
  };
}

/** The client's address as the rate limiter keys it (`local` for a Unix socket or none). */
export function clientAddress(info: Deno.ServeHandlerInfo | undefined): string {
  const addr = info?.remoteAddr;
  return addr && "hostname" in addr ? addr.hostname : "local";
}
