/**
 * Bounded request body reading: raw bytes or parsed JSON, refused with 413 past a limit.
 * @module
 */
import { HttpError } from "../core/mod.ts";

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
