/**
 * Server-Sent Events framing: the one place `event:`, `id:`, `data:` and comment lines are
 * written, and the headers of an event stream.
 * @module
 */

const encoder = new TextEncoder();

/** Encodes one Server-Sent Event. Data is JSON-serialised; each line gets its own `data:`. */
export function sseEvent(data: unknown, event?: string, id?: string): Uint8Array {
  return sseText(JSON.stringify(data), event, id);
}

/** Encodes one Server-Sent Event whose data is `text` as it is; each line gets its own `data:`. */
export function sseText(text: string, event?: string, id?: string): Uint8Array {
  let out = "";
  if (event) out += `event: ${event}\n`;
  if (id) out += `id: ${id}\n`;
  for (const line of text.split("\n")) out += `data: ${line}\n`;
  return encoder.encode(out + "\n");
}

/** Encodes an SSE comment (`: text`), which clients ignore: a keep-alive for idle streams. */
export function sseComment(text: string): Uint8Array {
  return encoder.encode(`: ${text}\n\n`);
}

/** Headers of an SSE answer, with proxy buffering off. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};
