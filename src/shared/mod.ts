/**
 * State that replicas share: the Redis connection behind shared MCP sessions, their event store and
 * the rate limiter.
 * @module
 */
export * from "./redis.ts";
