/**
 * The current time as an ISO 8601 string, formatted once per millisecond.
 * @module
 */
let lastMs = NaN;
let lastIso = "";

/** `new Date().toISOString()`, reusing the string while the millisecond is the same. */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
