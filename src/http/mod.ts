/**
 * The HTTP layer both servers stand on: serving (TLS, the connection guard), auth, rate limits,
 * health probes, request observation, bodies, SSE framing and host checks.
 * @module
 */
export * from "./auth.ts";
export * from "./body.ts";
export * from "./health.ts";
export * from "./hosts.ts";
export * from "./http1.ts";
export * from "./observe.ts";
export * from "./rate_limit.ts";
export * from "./respond.ts";
export * from "./serve.ts";
export * from "./sse.ts";
export * from "./tls.ts";
export * from "./watch_client.ts";
