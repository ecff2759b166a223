/**
 * The current time as an ISO 8601 string, formatted once per millisecond. End to end it pays:
 * Server B's `POST /process` (mock provider, ledger in memory) served 5-9% fewer requests/s with
 * `new Date().toISOString()` instead (`deno task bench --ablations`, docs/benchmarks.md).
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
