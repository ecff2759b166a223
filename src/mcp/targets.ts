/**
 * Where an MCP server is and how to reach it: `NAME=TARGET` parsing and an SDK `Client`
 * connected over the matching transport. Shared by `mcpcomm client` and Server A's gateway.
 *
 * TARGET is `http(s)://.../mcp` (Streamable HTTP), `http(s)://.../sse` (legacy HTTP+SSE),
 * `ws(s)://...` (WebSocket, subprotocol `mcp`) or `stdio:COMMAND ARGS` (a spawned process).
 * Connections speak MCP 2026-07-28 when the server offers it (a `server/discover` probe) and the
 * 2025 `initialize` handshake otherwise.
 * @module
 */
import { UsageError } from "../core/mod.ts";
import type { MachineOAuthProvider } from "../oauth/mod.ts";

export {
  type ConnectOptions,
  connectTarget,
  createTransport,
  disconnect,
  isConnectionRefused,
  protocolOf,
  TargetError,
} from "./_connect.ts";

/** A client registered beforehand at a server's authorization server, for the interactive flow. */
export interface PreRegisteredClient {
  clientId: string;
  clientSecret?: string | undefined;
}

/** How an HTTP target gets tokens: client credentials, or a pre-registered interactive client. */
export type TargetOAuth = MachineOAuthProvider | PreRegisteredClient;

/**
 * A parsed TARGET. `headers` (HTTP and WebSocket) and `env` (stdio) are secrets: they are sent
 * to that target only and never shown; so is `oauth`, the target's OAuth client.
 */
export type Target =
  | { kind: "http"; url: URL; headers?: Record<string, string>; oauth?: TargetOAuth }
  | { kind: "sse"; url: URL; headers?: Record<string, string>; oauth?: TargetOAuth }
  | { kind: "ws"; url: URL; headers?: Record<string, string> }
  | { kind: "stdio"; command: string; args: string[]; env?: Record<string, string> };

/** A TARGET with its name. */
export interface NamedTarget {
  name: string;
  target: Target;
}

/** Transport words accepted after a bare `host:port` (the seed's `add NAME HOST:PORT sse`). */
export const TRANSPORT_HINTS = ["mcp", "http", "sse", "ws", "websocket", "stdio"] as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

/** Throws {@linkcode UsageError} unless `name` is 1-32 letters, digits, `_` or `-`. */
export function validateName(name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError(
      `Invalid server name "${name}": use 1-32 letters, digits, "_" or "-", starting with a letter or digit`,
    );
  }
  return name;
}

/** Splits a command line into words: whitespace separates, quotes and backslashes group. */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let current = "";
  let started = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === "\\" && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (ch === "\\" && i + 1 < text.length) {
      current += text[++i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) words.push(current);
      current = "";
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (quote) throw new UsageError(`Unclosed ${quote} in "${text}"`);
  if (started) words.push(current);
  return words;
}

/**
 * Parses one TARGET. A bare `HOST:PORT` becomes `http://HOST:PORT/mcp`, or the endpoint of
 * `hint` (`sse` -> `/sse`, `ws` -> `/ws`). Throws {@linkcode UsageError} saying what is accepted.
 * @example
 * ```ts
 * parseTarget("ws://127.0.0.1:8080/ws"); // { kind: "ws", url }
 * parseTarget("stdio:mcpcomm toolbox --transport stdio"); // { kind: "stdio", command, args }
 * parseTarget("localhost:8081", "sse"); // { kind: "sse", url: http://localhost:8081/sse }
 * ```
 */
export function parseTarget(text: string, hint?: string): Target {
  const spec = text.trim();
  if (hint !== undefined && !(TRANSPORT_HINTS as readonly string[]).includes(hint)) {
    throw new UsageError(`Unknown transport "${hint}"; expected one of mcp, sse, ws`);
  }
  if (spec.startsWith("stdio:")) {
    const [command, ...args] = splitCommandLine(spec.slice("stdio:".length));
    if (!command) throw new UsageError(`Target "${text}" names no command after "stdio:"`);
    return { kind: "stdio", command, args };
  }
  if (/^[A-Za-z0-9.-]+:\d{1,5}$/.test(spec) || /^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/.test(spec)) {
    const base = `//${spec}`;
    if (hint === "sse") return { kind: "sse", url: new URL(`http:${base}/sse`) };
    if (hint === "ws" || hint === "websocket") return { kind: "ws", url: new URL(`ws:${base}/ws`) };
    return { kind: "http", url: new URL(`http:${base}/mcp`) };
  }
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new UsageError(
      `Invalid target "${text}": expected http(s)://HOST/mcp, http(s)://HOST/sse, ws(s)://HOST/ws, HOST:PORT or stdio:COMMAND`,
    );
  }
  if (url.protocol === "ws:" || url.protocol === "wss:") return { kind: "ws", url };
  if (url.protocol === "http:" || url.protocol === "https:") {
    return { kind: /\/sse\/?$/.test(url.pathname) ? "sse" : "http", url };
  }
  throw new UsageError(
    `Invalid target "${text}": scheme ${url.protocol} is not one of http, https, ws, wss, stdio`,
  );
}

/**
 * Parses `NAME=TARGET`; without `NAME=` the name is `fallbackName`. `hint` as in
 * {@linkcode parseTarget}.
 * @example
 * ```ts
 * parseNamedTarget("calc=ws://127.0.0.1:8080/ws"); // { name: "calc", target: { kind: "ws", ... } }
 * ```
 */
export function parseNamedTarget(text: string, fallbackName?: string, hint?: string): NamedTarget {
  const match = /^([A-Za-z0-9][A-Za-z0-9_-]*)=(.+)$/s.exec(text.trim());
  if (match) return { name: validateName(match[1]!), target: parseTarget(match[2]!, hint) };
  if (fallbackName === undefined) throw new UsageError(`Expected NAME=TARGET, got "${text}"`);
  return { name: validateName(fallbackName), target: parseTarget(text, hint) };
}

/**
 * Parses a list of `NAME=TARGET` (the `UPSTREAMS` setting: separated by `;` or newlines);
 * names must be unique.
 */
export function parseTargetList(text: string | readonly string[]): NamedTarget[] {
  const items = typeof text === "string" ? text.split(/[;\n]/) : text;
  const out: NamedTarget[] = [];
  for (const item of items.map((s) => s.trim()).filter(Boolean)) {
    const named = parseNamedTarget(item);
    if (out.some((t) => t.name === named.name)) {
      throw new UsageError(`Server name "${named.name}" is used twice`);
    }
    out.push(named);
  }
  return out;
}

/** A short human form of a target, without credentials or query strings. */
export function describeTarget(target: Target): string {
  if (target.kind === "stdio") return `stdio:${[target.command, ...target.args].join(" ")}`;
  return `${target.url.protocol}//${target.url.host}${target.url.pathname}`;
}

/** The transport kind's display name. */
export function transportLabel(target: Target): string {
  return { http: "streamable-http", sse: "sse", ws: "websocket", stdio: "stdio" }[target.kind];
}
