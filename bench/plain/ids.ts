/**
 * The plain code `src/core/_ids.ts` replaces, swapped in by the bench's import map.
 * @module
 */

/** `bytes` (at most 16) random bytes as hex from a UUID (its version "4" keeps it non-zero). */
export function randomHex(bytes: number): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, bytes * 2);
}
