/**
 * What a target is sent besides MCP: per-target headers (`NAME=Header-Name: value`), child
 * environments, and Claude Desktop `mcpServers` files, with `${VAR}` taken from the environment
 * at start-up so that secrets stay out of argv. Every header and env value is registered for log
 * redaction as it is resolved; errors name the setting and target, never a value.
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { redactSecret } from "../core/log.ts";
import type { ClientAuthMethod } from "../oauth/client_credentials.ts";
import { MachineOAuthProvider, signingAlgorithm } from "../oauth/machine.ts";
import {
  type NamedTarget,
  parseTarget,
  type Target,
  type TargetOAuth,
  validateName,
} from "./targets.ts";

/** The environment `${VAR}` reads from. */
export type Environment = Readonly<Record<string, string | undefined>>;

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
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

function resolveHeader(name: string, raw: string, env: Environment, where: string): string {
  const value = expandVariables(raw, env, `${where}: header ${name}`).trim();
  validateHeader(name, value, where);
  redactResolved(raw, value, env);
  return value;
}

function resolveEnv(name: string, raw: string, env: Environment, where: string): string {
  if (!ENV_NAME.test(name)) {
    throw new UsageError(`${where}: "${name}" is not a variable name (letters, digits, _)`);
  }
  const value = expandVariables(raw, env, `${where}: variable ${name}`);
  if (value.includes("\0")) throw new UsageError(`${where}: variable ${name} holds a NUL`);
  redactResolved(raw, value, env);
  return value;
}

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

const AUTH_METHODS: readonly ClientAuthMethod[] = [
  "client_secret_basic",
  "client_secret_post",
  "private_key_jwt",
];
const OAUTH_KEYS = [
  "grant",
  "clientId",
  "clientSecret",
  "scope",
  "issuer",
  "tokenUrl",
  "authMethod",
  "privateKeyFile",
];

/**
 * Reads a server's `oauth` object, `${VAR}` expanded in every value: client credentials
 * (`clientId`, `clientSecret` or `privateKeyFile`, `authMethod`, `scope`, `issuer`,
 * `tokenUrl`), or with `"grant": "authorization_code"` the pre-registered client (`clientId`,
 * `clientSecret`) of the interactive flow. The secret and the key are registered for
 * redaction. `fail` reports a problem at a JSON path below `path`, never quoting a value.
 */
export function parseOAuthObject(
  value: unknown,
  path: readonly (string | number)[],
  env: Environment,
  fail: (path: readonly (string | number)[], message: string) => never,
): TargetOAuth {
  if (!isObject(value)) return fail(path, "expected an object with clientId");
  const where = (key: string) => `${jsonPath([...path, key])}`;
  for (const key of Object.keys(value)) {
    if (!OAUTH_KEYS.includes(key)) {
      fail([...path, key], `unknown key (use ${OAUTH_KEYS.join(", ")})`);
    }
  }
  const text = (key: string): string | undefined => {
    const raw = value[key];
    if (raw === undefined) return undefined;
    if (typeof raw !== "string" || raw.trim() === "") {
      return fail([...path, key], "expected a non-empty string");
    }
    let expanded: string;
    try {
      expanded = expandVariables(raw, env, where(key)).trim();
    } catch (error) {
      return fail([], (error as Error).message);
    }
    for (const [, name] of raw.matchAll(VARIABLE)) redactSecret(env[name!]);
    return expanded;
  };
  const url = (key: string): string | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (parsed.protocol === "https:" || parsed.protocol === "http:") return raw;
    } catch {
      // reported below
    }
    return fail([...path, key], "expected an http(s) URL");
  };
  const clientId = text("clientId") ?? fail([...path, "clientId"], "is required");
  const clientSecret = text("clientSecret");
  redactSecret(clientSecret);
  const grant = text("grant") ?? "client_credentials";
  if (grant === "authorization_code") {
    for (const key of ["privateKeyFile", "authMethod", "tokenUrl", "issuer", "scope"]) {
      if (value[key] !== undefined) fail([...path, key], "applies to client_credentials only");
    }
    return { clientId, clientSecret };
  }
  if (grant !== "client_credentials") {
    fail([...path, "grant"], "expected client_credentials or authorization_code");
  }
  const keyFile = text("privateKeyFile");
  let privateKeyPem: string | undefined;
  if (keyFile !== undefined) {
    try {
      privateKeyPem = Deno.readTextFileSync(keyFile);
      signingAlgorithm(privateKeyPem);
    } catch (error) {
      fail(
        [...path, "privateKeyFile"],
        `cannot use ${keyFile} as a PEM private key (${readFailure(error)})`,
      );
    }
    redactSecret(privateKeyPem);
  }
  const method = text("authMethod") ?? (privateKeyPem ? "private_key_jwt" : "client_secret_basic");
  if (!(AUTH_METHODS as readonly string[]).includes(method)) {
    fail([...path, "authMethod"], `expected one of ${AUTH_METHODS.join(", ")}`);
  }
  if (method === "private_key_jwt" && !privateKeyPem) {
    fail([...path, "privateKeyFile"], "is required for private_key_jwt");
  }
  if (method !== "private_key_jwt" && !clientSecret) {
    fail([...path, "clientSecret"], `is required for ${method}`);
  }
  return new MachineOAuthProvider({
    clientId,
    clientSecret,
    privateKeyPem,
    authMethod: method as ClientAuthMethod,
    scope: text("scope"),
    issuer: url("issuer"),
    tokenUrl: url("tokenUrl"),
  });
}

const TYPES: Record<string, Target["kind"]> = {
  stdio: "stdio",
  http: "http",
  "streamable-http": "http",
  streamableHttp: "http",
  sse: "sse",
  ws: "ws",
  websocket: "ws",
};

function jsonPath(path: readonly (string | number)[]): string {
  return path.map((p, i) =>
    typeof p === "number"
      ? `[${p}]`
      : /^[A-Za-z_][A-Za-z0-9_]*$/.test(p)
      ? `${i ? "." : ""}${p}`
      : `[${JSON.stringify(p)}]`
  ).join("");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

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

/** Why a file could not be read or used: "no such file" or the error's message. */
function readFailure(error: unknown): string {
  return error instanceof Deno.errors.NotFound
    ? "no such file"
    : error instanceof Error
    ? error.message
    : String(error);
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
