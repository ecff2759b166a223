/**
 * Random hex ids for traces and spans, from `crypto.randomUUID()`. A pool of random bytes refilled
 * 4 KiB at a time gained Server B's `POST /process` only 4.4% and 1.1% of its requests/s in two
 * runs of `deno task bench --ablations`, under the 5% bar, so it went.
 * @module
 */

/** `bytes` (at most 16) random bytes as lower-case hex, never all zero. */
export function randomHex(bytes: number): string {
  const id = crypto.randomUUID().replaceAll("-", "").slice(0, bytes * 2);
  return /^0+$/.test(id) ? randomHex(bytes) : id;
}
