/**
 * The core every layer uses: settings, typed errors, the logger, paths, retries, the request
 * context and trace ids, the version.
 * @module
 */
export * from "./clock.ts";
export * from "./config.ts";
export * from "./errors.ts";
export * from "./log.ts";
export * from "./paths.ts";
export * from "./public_url.ts";
export * from "./request_context.ts";
export * from "./retry.ts";
export * from "./signals.ts";
export * from "./trace.ts";
export * from "./version.ts";
