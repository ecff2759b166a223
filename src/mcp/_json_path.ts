/**
 * Small helpers of the servers file reader: JSON paths in errors, object checks, read failures.
 * @module
 */

/** A JSON path as in errors: `mcpServers.gh.headers["X-Key"]`, `args[0]`. */
export function jsonPath(path: readonly (string | number)[]): string {
  return path.map((p, i) =>
    typeof p === "number"
      ? `[${p}]`
      : /^[A-Za-z_][A-Za-z0-9_]*$/.test(p)
      ? `${i ? "." : ""}${p}`
      : `[${JSON.stringify(p)}]`
  ).join("");
}

/** Whether `value` is a plain object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Why a file could not be read or used: "no such file" or the error's message. */
export function readFailure(error: unknown): string {
  return error instanceof Deno.errors.NotFound
    ? "no such file"
    : error instanceof Error
    ? error.message
    : String(error);
}
