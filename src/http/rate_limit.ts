/**
 * Per-client rate limiting (`RATE_LIMIT_PER_MINUTE`): a token bucket per client address that
 * answers 429 with `Retry-After` once a client has used its minute's worth of requests; with
 * `MCPCOMM_REDIS`, a window per client shared by every replica.
 * @module
 */
import { HttpError } from "../core/mod.ts";
import type { SharedRedis } from "../shared/mod.ts";

/** Counts requests per client and refuses those over the limit. */
export interface RateLimiter {
  /**
   * Takes one request from `client`'s allowance; throws (or rejects with) 429 with `Retry-After`
   * when none is left. Await it: the shared limiter answers asynchronously.
   */
  check(client: string): void | Promise<void>;
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
      throw tooMany(perMinute, (1 - bucket.tokens) / perMs);
    },
    get size() {
      return buckets.size;
    },
  };
}

function tooMany(perMinute: number, waitMs: number): HttpError {
  const waitSeconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new HttpError(
    429,
    "rate_limited",
    `Too many requests: the limit is ${perMinute} per minute; retry in ${waitSeconds} s`,
    { "retry-after": String(waitSeconds) },
  );
}

/** INCR the client's window, starting it (60 s) at its first request; returns count and ms left. */
const WINDOW_SCRIPT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

/**
 * A limiter shared by every replica through Redis: `perMinute` requests per client in a one-minute
 * window that starts at the client's first request (one atomic script: no clock shared between
 * replicas needed), 429 with `Retry-After` until the window ends. While Redis is unreachable each
 * replica falls back to its own in-memory limiter. `undefined` when `perMinute` is 0.
 * @example
 * ```ts
 * const limiter = createSharedRateLimiter(config.RATE_LIMIT_PER_MINUTE, shared);
 * await limiter?.check(clientAddress(info));
 * ```
 */
export function createSharedRateLimiter(
  perMinute: number,
  redis: SharedRedis,
  options: RateLimiterOptions = {},
): RateLimiter | undefined {
  const local = createRateLimiter(perMinute, options);
  if (!local) return undefined;
  return {
    async check(client) {
      let answer: unknown;
      try {
        answer = await redis.run((r) =>
          r.eval(WINDOW_SCRIPT, 1, `${redis.prefix}rate:${client}`, 60_000)
        );
      } catch {
        return local.check(client);
      }
      const [count, leftMs] = Array.isArray(answer) ? answer.map(Number) : [];
      if (count !== undefined && count > perMinute) throw tooMany(perMinute, leftMs ?? 60_000);
    },
    get size() {
      return local.size;
    },
  };
}

/** The client's address as the rate limiter keys it (`local` for a Unix socket or none). */
export function clientAddress(info: Deno.ServeHandlerInfo | undefined): string {
  const addr = info?.remoteAddr;
  return addr && "hostname" in addr ? addr.hostname : "local";
}
