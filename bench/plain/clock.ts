/**
 * The plain code `src/core/clock.ts` replaces, swapped in by the bench's import map.
 * @module
 */

/** `new Date().toISOString()`. */
export function isoNow(): string {
  return new Date().toISOString();
}
