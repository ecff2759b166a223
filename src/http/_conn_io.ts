/**
 * Small socket helpers of the connection guard: raw HTTP answers written before any request is
 * read, writing a whole buffer, closing what may already be closed.
 * @module
 */
import type { ErrorCode } from "../core/mod.ts";

/** The loopback address the guard's inner `Deno.serve` and TLS listener use. */
export const INTERNAL_HOST = "127.0.0.1";
/** Bytes read at once in each direction of a relayed connection. */
export const BUFFER_BYTES = 16 * 1024;
/** How long an answer the guard writes itself may take before the connection is closed. */
export const REFUSE_GRACE_MS = 2000;

const encoder = new TextEncoder();

/** A complete `connection: close` HTTP/1.1 answer with the JSON error body every server uses. */
export function rawAnswer(status: string, code: ErrorCode, message: string): Uint8Array {
  const body = JSON.stringify({ error: { code, message } });
  return encoder.encode(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}

/** Closes `closable`, ignoring that it is already closed. */
export function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch { /* already closed */ }
}

/** Writes all of `bytes`, however many writes it takes. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
