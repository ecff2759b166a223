/**
 * HTTP building blocks shared by both servers: bounded body reading, the one place errors
 * become responses, and Server-Sent Events encoding.
 * @module
 */
import { describeError, HttpError } from "./errors.ts";
import type { Logger } from "./log.ts";

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

/** Reads and parses a JSON body within `maxBytes`; 400 `invalid_json` when it does not parse. */
export async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const body = await readBody(request, maxBytes);
  try {
    return JSON.parse(decoder.decode(body));
  } catch {
    throw new HttpError(400, "invalid_json", "Request body is not valid JSON");
  }
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

/** A URL safe to show: origin and path only, without credentials, query or fragment. */
export function publicUrl(url: string): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}

/** Whether a host name is a loopback name or address. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || h.startsWith("127.") || h.endsWith(".localhost");
}
