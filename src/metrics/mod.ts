/**
 * Prometheus metrics: the registry and the instruments the servers record into.
 * @module
 */
export * from "./instrument.ts";
export * from "./registry.ts";
export * from "./timed.ts";
