/**
 * `${VAR}` expansion from the environment and the checks of one header or child variable, each
 * resolved value registered for log redaction; errors name where, never the value.
 * @module
 */
import { redactSecret, UsageError } from "../core/mod.ts";

/** The environment `${VAR}` reads from. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A `${NAME}` reference. */
export const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7E\x80-\xFF]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Headers the transports set themselves. */
const RESERVED_HEADERS = new Set([
  "accept",
  "connection",
  "content-length",
  "content-type",
  "host",
  "last-event-id",
  "mcp-protocol-version",
  "mcp-session-id",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Replaces each `${NAME}` in `text` with the variable's value; an unset or empty variable is a
 * {@linkcode UsageError} starting with `where`.
 * @example
 * ```ts
 * expandVariables("Bearer ${TOKEN}", { TOKEN: "abc" }, "header"); // "Bearer abc"
 * ```
 */
export function expandVariables(text: string, env: Environment, where: string): string {
  return text.replace(VARIABLE, (_, name: string) => {
    const value = env[name];
    if (value === undefined || value === "") {
      throw new UsageError(`${where} uses \${${name}}, which is not set`);
    }
    return value;
  });
}

/** Throws {@linkcode UsageError} (naming `where` and the header, never the value) for a bad header. */
export function validateHeader(name: string, value: string, where: string): void {
  if (!HEADER_NAME.test(name)) {
    throw new UsageError(
      `${where}: "${name}" is not a header name (letters, digits and !#$%&'*+.^_\`|~-)`,
    );
  }
  const lower = name.toLowerCase();
  if (RESERVED_HEADERS.has(lower) || lower.startsWith("sec-websocket-")) {
    throw new UsageError(`${where}: header ${name} is set by the transport and cannot be given`);
  }
  if (/[\r\n\0]/.test(value)) {
    throw new UsageError(`${where}: the value of header ${name} holds a line break or NUL`);
  }
  if (!HEADER_VALUE.test(value)) {
    throw new UsageError(
      `${where}: the value of header ${name} holds a control or non-Latin-1 character`,
    );
  }
  if (value.trim() === "") throw new UsageError(`${where}: header ${name} has an empty value`);
}

/** Registers a resolved value, the variables it came from and a scheme's credential. */
function redactResolved(raw: string, value: string, env: Environment): void {
  redactSecret(value);
  for (const [, name] of raw.matchAll(VARIABLE)) redactSecret(env[name!]);
  const words = value.split(/\s+/);
  if (words.length === 2) redactSecret(words[1]);
}

/** Expands, checks and registers for redaction one header value. */
export function resolveHeader(name: string, raw: string, env: Environment, where: string): string {
  const value = expandVariables(raw, env, `${where}: header ${name}`).trim();
  validateHeader(name, value, where);
  redactResolved(raw, value, env);
  return value;
}

/** Expands, checks and registers for redaction one child variable. */
export function resolveEnv(name: string, raw: string, env: Environment, where: string): string {
  if (!ENV_NAME.test(name)) {
    throw new UsageError(`${where}: "${name}" is not a variable name (letters, digits, _)`);
  }
  const value = expandVariables(raw, env, `${where}: variable ${name}`);
  if (value.includes("\0")) throw new UsageError(`${where}: variable ${name} holds a NUL`);
  redactResolved(raw, value, env);
  return value;
}
