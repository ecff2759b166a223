/**
 * The plain code `src/http/watch_client.ts` replaces (`request.signal` itself), swapped in by
 * the bench's import map.
 * @module
 */
export type { ClientWatch } from "../../src/http/watch_client.ts";
import type { ClientWatch } from "../../src/http/watch_client.ts";

/** `request.signal`, with nothing to stop. */
export function watchClient(request: Request): ClientWatch {
  return { signal: request.signal, done() {} };
}
