/**
 * HTTP building blocks shared by both servers: bounded body reading, the one place errors
 * become responses, and Server-Sent Events encoding.
 * @module
 */
import { describeError, HttpError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";

/** Default largest request body: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads a request body, refusing it with 413 as soon as it exceeds `maxBytes` (while reading,
 * before it is all buffered).
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  const declared = Number(length ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (length !== null && Number.isSafeInteger(declared)) {
    const whole = new Uint8Array(await request.arrayBuffer());
    if (whole.byteLength > maxBytes) throw tooLarge(maxBytes);
    return whole;
  }
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return concatBytes(chunks, size);
}

/** The `chunks` as one array of `size` bytes (the first chunk itself when it is the only one). */
export function concatBytes(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "payload_too_large", `Request body is larger than ${maxBytes} bytes`);
}

const decoder = new TextDecoder();

/**
 * Reads and parses a JSON body within `maxBytes`; 400 `invalid_json` when it does not parse. A
 * declared Content-Length within the limit bounds the body (`Deno.serve` never delivers more
 * than it declares), so such a body is parsed as `request.json()` does, its fastest path.
 */
export async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (Number.isSafeInteger(declared) && declared >= 0 && declared <= maxBytes) {
    try {
      return await request.json();
    } catch (error) {
      if (error instanceof SyntaxError) throw invalidJson();
      throw error;
    }
  }
  const text = decoder.decode(await readBody(request, maxBytes));
  try {
    return JSON.parse(text);
  } catch {
    throw invalidJson();
  }
}

function invalidJson(): HttpError {
  return new HttpError(400, "invalid_json", "Request body is not valid JSON");
}

/**
 * The edge where any thrown value becomes an HTTP answer: an {@linkcode HttpError} answers as
 * itself, anything else as 500 without internals.
 */
export function errorResponse(error: unknown, log?: Logger): Response {
  if (error instanceof HttpError) return error.toResponse();
  log?.error("unhandled error", { error: describeError(error) });
  return new HttpError(500, "internal", "Internal server error").toResponse();
}

/** 405 with the `Allow` header. */
export function methodNotAllowed(allow: string[]): HttpError {
  return new HttpError(405, "method_not_allowed", `Method not allowed; use ${allow.join(", ")}`, {
    allow: allow.join(", "),
  });
}

const encoder = new TextEncoder();

/** Encodes one Server-Sent Event. Data is JSON-serialised; each line gets its own `data:`. */
export function sseEvent(data: unknown, event?: string, id?: string): Uint8Array {
  let out = "";
  if (event) out += `event: ${event}\n`;
  if (id) out += `id: ${id}\n`;
  for (const line of JSON.stringify(data).split("\n")) out += `data: ${line}\n`;
  return encoder.encode(out + "\n");
}

/** Headers of an SSE answer, with proxy buffering off. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

const PLAIN_URL = /^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9_~\/-]*)(?:\?|$)/;

/**
 * The path of a request URL, as `new URL(url).pathname` gives it, without parsing the URL when
 * host and path are plain (nothing in them a URL parser would rewrite).
 * @example
 * ```ts
 * pathOf("http://127.0.0.1:8000/process?x=1"); // "/process"
 * ```
 */
export function pathOf(url: string): string {
  return PLAIN_URL.exec(url)?.[1] ?? new URL(url).pathname;
}

/** A URL safe to show: origin and path only, without credentials, query or fragment. */
export function publicUrl(url: string): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}

const IPV4_LITERAL = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** The octets of a dotted-quad IPv4 literal (decimal, no leading zeros, each 0-255). */
function ipv4Octets(host: string): number[] | undefined {
  const match = IPV4_LITERAL.exec(host);
  const octets = match?.slice(1).map(Number);
  return octets?.every((n) => n <= 255) ? octets : undefined;
}

/** An IPv6 literal (bracketed or not) in its canonical compressed form, e.g. `::1`. */
function canonicalIpv6(host: string): string | undefined {
  const inner = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (!inner.includes(":") || !/^[0-9a-f:.]+$/i.test(inner)) return undefined;
  try {
    return new URL(`http://[${inner}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/**
 * Whether `host` is an IP address literal: a dotted-quad IPv4 address, or an IPv6 address with or
 * without brackets. A DNS name that merely starts like one (`1.2.3.4.example.com`) is not.
 */
export function isIpLiteral(host: string): boolean {
  return ipv4Octets(host) !== undefined || canonicalIpv6(host) !== undefined;
}

/**
 * Whether a host is loopback: the name `localhost`, or an IP literal in 127.0.0.0/8, `::1` or
 * `::ffff:127.x.x.x`. Other names never count, even `127.0.0.1.example.com` or `a.localhost`.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost") return true;
  const v4 = ipv4Octets(h);
  if (v4) return v4[0] === 127;
  const v6 = canonicalIpv6(h);
  return v6 === "::1" || (v6 !== undefined && /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(v6));
}
