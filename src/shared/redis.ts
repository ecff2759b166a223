/**
 * The Redis connection replicas share (`MCPCOMM_REDIS`): 2025-era MCP sessions, their event store
 * and the rate limiter. Commands fail fast while Redis is unreachable (no offline queue, a command
 * timeout) with {@linkcode RedisUnavailableError}; the client reconnects in the background, and the
 * outage is logged once when it starts and once when it ends.
 * @module
 */
import type { Redis } from "ioredis";
import { DomainError, type Logger } from "../core/mod.ts";

/** Redis could not answer (down, unreachable, timed out): "unavailable", retry after a second. */
export class RedisUnavailableError extends DomainError {
  override name = "RedisUnavailableError";
  constructor() {
    super("unavailable", "The shared session store (Redis) is unavailable; retry shortly", {
      retryAfterSeconds: 1,
    });
  }
}

/** Longest a command may take before it counts as failed. */
const COMMAND_TIMEOUT_MS = 2000;

/** A connection to the Redis that replicas share, with keys under one prefix. */
export interface SharedRedis {
  /** `mcpcomm:<role>:`, the prefix of every key this server writes. */
  readonly prefix: string;
  /** Runs commands; any failure to reach Redis becomes {@linkcode RedisUnavailableError}. */
  run<T>(commands: (redis: Redis) => Promise<T>): Promise<T>;
  /** Whether the connection is up now. */
  readonly ready: boolean;
  close(): Promise<void>;
}

/** Options of {@linkcode connectRedis}. */
export interface ConnectRedisOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…` (TLS). */
  url: string;
  /** The server role, part of every key (replicas of one role share sessions, other roles not). */
  role: string;
  log: Logger;
  /** How long start-up waits for the first connection (default 5 s); it goes on in the background after. */
  waitMs?: number;
}

/**
 * Connects to Redis; resolves once connected or after `waitMs` (start-up does not fail while
 * Redis is down: requests that need it answer 503 until it is back).
 * @example
 * ```ts
 * const shared = await connectRedis({ url: config.MCPCOMM_REDIS, role: "server-a", log });
 * ```
 */
export async function connectRedis(options: ConnectRedisOptions): Promise<SharedRedis> {
  const { log } = options;
  const { Redis: RedisClient } = await import("ioredis");
  const redis = new RedisClient(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(100 * times, 1000),
  });
  const where = redactedUrl(options.url);
  let down = false;
  const wentDown = (error: unknown) => {
    if (down) return;
    down = true;
    log.warn("Redis unavailable: shared MCP sessions answer 503 until it is back", {
      redis: where,
      error: error instanceof Error ? error.message : String(error),
    });
  };
  redis.on("error", wentDown);
  redis.on("ready", () => {
    if (down) log.info("Redis is back", { redis: where });
    down = false;
  });
  const connected = redis.connect().catch(wentDown);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    connected,
    new Promise((resolve) => timer = setTimeout(resolve, options.waitMs ?? 5000)),
  ]);
  clearTimeout(timer);
  return {
    prefix: `mcpcomm:${options.role}:`,
    async run(commands) {
      try {
        return await commands(redis);
      } catch (error) {
        if (isReplyError(error)) throw error;
        wentDown(error);
        throw new RedisUnavailableError();
      }
    },
    get ready() {
      return redis.status === "ready";
    },
    async close() {
      redis.removeAllListeners("error");
      redis.on("error", () => {});
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}

/** The Redis at `url` (`MCPCOMM_REDIS`) for `role`, or `undefined` when no URL is set. */
export function sharedRedisOf(
  url: string | undefined,
  role: string,
  log: Logger,
): Promise<SharedRedis | undefined> {
  return url ? connectRedis({ url, role, log }) : Promise.resolve(undefined);
}

/** An error Redis answered (a bad command), as opposed to not answering. */
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === "ReplyError";
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}
