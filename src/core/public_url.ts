/**
 * URLs as messages and logs may show them.
 * @module
 */

/** A URL safe to show: origin and path only, without credentials, query or fragment. */
export function publicUrl(url: string): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}
