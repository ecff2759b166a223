/**
 * What a target is sent besides MCP: per-target headers (`NAME=Header-Name: value`), child
 * environments, and Claude Desktop `mcpServers` files, with `${VAR}` taken from the environment
 * at start-up so that secrets stay out of argv. Every header and env value is registered for log
 * redaction as it is resolved; errors name the setting and target, never a value.
 * @module
 */
import { UsageError } from "../core/mod.ts";
import type { NamedTarget, Target } from "./targets.ts";
import { type Environment, resolveHeader } from "./_target_values.ts";

export { parseOAuthObject } from "./_oauth_object.ts";
export { loadServersFile, parseServersFile } from "./_servers_file.ts";
export { type Environment, expandVariables, validateHeader } from "./_target_values.ts";

/** One `NAME=Header-Name: value` item. */
export interface HeaderSpec {
  /** The target's name. */
  target: string;
  name: string;
  /** The raw value, `${VAR}` not yet expanded. */
  value: string;
}

/**
 * Parses `NAME=Header-Name: value`. `source` (e.g. `--upstream-header`) starts the error, which
 * never repeats the text (it may hold a secret).
 */
export function parseHeaderSpec(text: string, source: string): HeaderSpec {
  const match = /^\s*([A-Za-z0-9][A-Za-z0-9_-]*)=([^:]*):(.*)$/s.exec(text);
  if (!match) throw new UsageError(`${source}: expected NAME=Header-Name: value`);
  return { target: match[1]!, name: match[2]!.trim(), value: match[3]!.trim() };
}

/** Splits a setting holding several items (`;` or newlines between them). */
export function splitItems(text: string | undefined): string[] {
  return (text ?? "").split(/[;\n]/).map((s) => s.trim()).filter(Boolean);
}

/**
 * Adds each `NAME=Header-Name: value` of `specs` to the target named NAME, `${VAR}` expanded
 * from `env`; a later header of the same name wins. `source` names the flag or setting and
 * `noun` the kind of target (`upstream`, `server`) in errors.
 * @example
 * ```ts
 * withHeaders(targets, ["gh=Authorization: Bearer ${GITHUB_TOKEN}"], env, "--upstream-header", "upstream");
 * ```
 */
export function withHeaders(
  targets: readonly NamedTarget[],
  specs: readonly string[],
  env: Environment,
  source: string,
  noun: string,
): NamedTarget[] {
  const out = targets.map((t) => ({ ...t, target: { ...t.target } as Target }));
  for (const text of specs) {
    const spec = parseHeaderSpec(text, source);
    const where = `${source} for ${noun} "${spec.target}"`;
    const named = out.find((t) => t.name === spec.target);
    if (!named) {
      const known = out.length ? out.map((t) => t.name).join(", ") : "none";
      throw new UsageError(`${where}: there is no such ${noun} (${noun}s: ${known})`);
    }
    if (named.target.kind === "stdio") {
      throw new UsageError(`${where}: headers go to HTTP and WebSocket targets, not stdio:`);
    }
    const value = resolveHeader(spec.name, spec.value, env, where);
    const headers = Object.fromEntries(
      Object.entries(named.target.headers ?? {}).filter(([k]) =>
        k.toLowerCase() !== spec.name.toLowerCase()
      ),
    );
    named.target = { ...named.target, headers: { ...headers, [spec.name]: value } };
  }
  return out;
}

/** Appends `more` to `targets`; a name used twice is a {@linkcode UsageError}. */
export function mergeTargets(
  targets: readonly NamedTarget[],
  more: readonly NamedTarget[],
): NamedTarget[] {
  const out = [...targets];
  for (const named of more) {
    if (out.some((t) => t.name === named.name)) {
      throw new UsageError(`Server name "${named.name}" is used twice`);
    }
    out.push(named);
  }
  return out;
}
