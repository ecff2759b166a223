/**
 * Request IDs and W3C Trace Context (`traceparent`, https://www.w3.org/TR/trace-context/):
 * parse what a caller sent, start a span of our own under it, and format it for the next hop.
 * @module
 */
import { randomHex } from "./_ids.ts";

/** The `traceparent` header's parts: lower-case hex. */
export interface TraceContext {
  /** 32 hex digits, not all zero. */
  traceId: string;
  /** This hop's span (parent-id on the wire): 16 hex digits, not all zero. */
  spanId: string;
  /** Trace flags, 2 hex digits; `01` = sampled. */
  flags: string;
}

/** The header a request ID travels in, both ways. */
export const REQUEST_ID_HEADER = "x-request-id";

const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const FUTURE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Parses a `traceparent` header; `undefined` when it is absent or invalid (the caller then
 * starts a new trace, as the specification says).
 * @example
 * ```ts
 * parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?.traceId;
 * // "4bf92f3577b34da6a3ce929d0e0e4736"
 * ```
 */
export function parseTraceparent(header: string | null | undefined): TraceContext | undefined {
  if (!header) return undefined;
  const value = header.trim();
  let traceId: string, spanId: string, flags: string;
  const v00 = VERSION_00.exec(value);
  if (v00) [, traceId, spanId, flags] = v00 as unknown as [string, string, string, string];
  else {
    const future = FUTURE.exec(value);
    if (!future || future[1] === "00" || future[1] === "ff") return undefined;
    [, , traceId, spanId, flags] = future as unknown as [string, string, string, string, string];
  }
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, flags };
}

/** Formats a context as a version-00 `traceparent` value. */
export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.flags}`;
}

/**
 * A new span: in the caller's trace when there is one (keeping its sampled flag), else a new
 * sampled trace.
 */
export function startSpan(parent?: TraceContext): TraceContext {
  if (!parent) return { traceId: randomHex(16), spanId: randomHex(8), flags: "01" };
  const sampled = parseInt(parent.flags, 16) & 1;
  return { traceId: parent.traceId, spanId: randomHex(8), flags: sampled ? "01" : "00" };
}

/** The caller's request ID when it is a plain token of at most 128 characters, else a new one. */
export function requestIdOf(headers: Headers): string {
  const given = headers.get(REQUEST_ID_HEADER);
  return given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}
