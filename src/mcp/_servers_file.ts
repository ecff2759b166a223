/**
 * Claude Desktop `mcpServers` files: each server's command or URL, headers, env and oauth, with
 * `${VAR}` taken from the environment; errors name the file and the JSON path, never a value.
 * @module
 */
import { redactSecret, UsageError } from "../core/mod.ts";
import { type NamedTarget, parseTarget, type Target, validateName } from "./targets.ts";
import { isObject, jsonPath, readFailure } from "./_json_path.ts";
import { parseOAuthObject } from "./_oauth_object.ts";
import { type Environment, resolveEnv, resolveHeader } from "./_target_values.ts";

const TYPES: Record<string, Target["kind"]> = {
  stdio: "stdio",
  http: "http",
  "streamable-http": "http",
  streamableHttp: "http",
  sse: "sse",
  ws: "ws",
  websocket: "ws",
};

/**
 * Reads the Claude Desktop shape `{"mcpServers": {"NAME": {"command", "args", "env"} |
 * {"url", "headers", "type"}}}` from `text` (the content of `file`), `${VAR}` in `headers` and
 * `env` values expanded from `env`. Entries with `"disabled": true` are skipped; other keys are
 * ignored. Errors name the file and the JSON path of the problem.
 * @example
 * ```ts
 * parseServersFile('{"mcpServers": {"gh": {"url": "https://h/mcp", "headers": {"Authorization": "Bearer ${GH}"}}}}', "servers.json", { GH: "x" });
 * ```
 */
export function parseServersFile(text: string, file: string, env: Environment): NamedTarget[] {
  const fail = (path: readonly (string | number)[], message: string): never => {
    throw new UsageError(`${file}: ${path.length ? `${jsonPath(path)}: ` : ""}${message}`);
  };
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    // The parser's message may quote the text, which may hold a secret: keep the position only.
    const message = error instanceof Error ? error.message : "";
    const at = /line \d+ column \d+/.exec(message)?.[0] ??
      /position \d+/.exec(message)?.[0];
    fail([], `not valid JSON${at ? ` (at ${at})` : ""}`);
  }
  if (!isObject(root)) return fail([], "expected a JSON object with mcpServers");
  const servers = root.mcpServers;
  if (!isObject(servers)) return fail(["mcpServers"], "expected an object of servers by name");
  const out: NamedTarget[] = [];
  for (const [name, entry] of Object.entries(servers)) {
    const path = ["mcpServers", name];
    try {
      validateName(name);
    } catch (error) {
      fail(path, (error as Error).message);
    }
    if (!isObject(entry)) fail(path, "expected an object with command or url");
    const server = entry as Record<string, unknown>;
    if (server.disabled === true) continue;
    const string = (key: string): string | undefined => {
      const value = server[key];
      if (value === undefined) return undefined;
      if (typeof value !== "string" || value.trim() === "") {
        return fail([...path, key], "expected a non-empty string");
      }
      return value;
    };
    const record = (key: string): [string, string][] => {
      const value = server[key];
      if (value === undefined) return [];
      if (!isObject(value)) return fail([...path, key], "expected an object of strings");
      return Object.entries(value).map(([k, v]) =>
        typeof v === "string" ? [k, v] : fail([...path, key, k], "expected a string")
      );
    };
    const type = string("type");
    const kind = type === undefined ? undefined : TYPES[type];
    if (type !== undefined && kind === undefined) {
      fail([...path, "type"], `expected one of ${Object.keys(TYPES).join(", ")}`);
    }
    const command = string("command");
    const url = string("url");
    if (command !== undefined && url !== undefined) fail(path, "has both command and url");
    if (command !== undefined) {
      if (kind !== undefined && kind !== "stdio") {
        fail([...path, "type"], `"${type}" needs url, not command`);
      }
      const args = server.args ?? [];
      if (!Array.isArray(args)) fail([...path, "args"], "expected an array of strings");
      (args as unknown[]).forEach((a, i) => {
        if (typeof a !== "string") fail([...path, "args", i], "expected a string");
      });
      if (server.headers !== undefined) fail([...path, "headers"], "applies to url servers only");
      if (server.oauth !== undefined) fail([...path, "oauth"], "applies to url servers only");
      const where = `${file}: ${jsonPath([...path, "env"])}`;
      const vars = record("env").map(([k, v]) => [k, resolveEnv(k, v, env, where)]);
      out.push({
        name,
        target: {
          kind: "stdio",
          command,
          args: args as string[],
          ...(vars.length ? { env: Object.fromEntries(vars) } : {}),
        },
      });
      continue;
    }
    if (url === undefined) return fail(path, "needs command (stdio) or url");
    if (kind === "stdio") fail([...path, "type"], `"stdio" needs command, not url`);
    if (server.env !== undefined) fail([...path, "env"], "applies to command servers only");
    let parsed: Target;
    try {
      parsed = parseTarget(url);
    } catch {
      return fail([...path, "url"], "expected an http(s):// or ws(s):// URL");
    }
    if (parsed.kind === "stdio") return fail([...path, "url"], "expected an http(s) or ws(s) URL");
    redactSecret(parsed.url.password);
    const chosen = (kind ?? parsed.kind) as "http" | "sse" | "ws";
    const web = parsed.url.protocol === "http:" || parsed.url.protocol === "https:";
    if ((chosen === "ws") === web) {
      fail([...path, "type"], `"${type}" does not match the URL's scheme ${parsed.url.protocol}`);
    }
    const where = `${file}: ${jsonPath([...path, "headers"])}`;
    const headers = record("headers").map(([k, v]) => [k, resolveHeader(k, v, env, where)]);
    if (server.oauth !== undefined && chosen === "ws") {
      fail([...path, "oauth"], "applies to http(s) servers only");
    }
    const oauth = server.oauth === undefined
      ? undefined
      : parseOAuthObject(server.oauth, [...path, "oauth"], env, fail);
    const target = {
      kind: chosen,
      url: parsed.url,
      ...(headers.length ? { headers: Object.fromEntries(headers) } : {}),
    } as Target;
    if (oauth && target.kind !== "stdio" && target.kind !== "ws") target.oauth = oauth;
    out.push({ name, target });
  }
  return out;
}

/**
 * Reads and parses a servers file (see {@linkcode parseServersFile}); a file that cannot be read
 * is a {@linkcode UsageError} naming it and `setting`.
 */
export function loadServersFile(path: string, env: Environment, setting: string): NamedTarget[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new UsageError(`Cannot read ${setting} ${path}: ${readFailure(error)}`);
  }
  return parseServersFile(text, path, env);
}
