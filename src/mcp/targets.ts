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
import {
  Client,
  type ClientOptions,
  type OAuthClientProvider,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Transport,
  UnauthorizedError,
} from "@modelcontextprotocol/client";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { UsageError } from "../core/errors.ts";
import { machineAuthProvider, MachineOAuthProvider } from "../oauth/machine.ts";
import { WebSocketClientTransport } from "./ws_client.ts";

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

/** Options of {@linkcode connectTarget}. */
export interface ConnectOptions {
  /** The client's name in `initialize`. */
  clientName: string;
  version: string;
  /** Headers sent to HTTP and WebSocket targets, under the target's own `headers`. */
  headers?: Record<string, string> | undefined;
  /** Gives up connecting after this long. */
  timeoutMs?: number;
  /**
   * Where a stdio child's stderr goes: `inherit`, or `pipe` (default), which keeps its last lines
   * for the error when the child fails to start, and then discards it.
   */
  stderr?: "inherit" | "pipe";
  /**
   * Variables a stdio child gets on top of the SDK's default environment, under the target's
   * own `env`.
   */
  childEnv?: Record<string, string> | undefined;
  /** Called before connecting, to install notification handlers on the client. */
  setup?: (client: Client) => void;
  /** Client options besides the version negotiation, e.g. the response cache's. */
  client?: Omit<ClientOptions, "versionNegotiation">;
  /**
   * Interactive OAuth for HTTP targets without client credentials: the provider the transport uses, and
   * `authorize`, which completes a pending authorization (the user's browser, the loopback
   * redirect) and resolves to the callback's parameters.
   */
  oauth?: {
    provider: OAuthClientProvider;
    authorize(signal: AbortSignal): Promise<URLSearchParams>;
  };
}

/** Creates the SDK transport for a target (not yet started). */
export function createTransport(
  target: Target,
  options: Pick<ConnectOptions, "headers" | "stderr" | "childEnv" | "oauth"> = {},
): Transport {
  const headers = target.kind === "stdio" ? {} : { ...options.headers, ...target.headers };
  const authProvider = (target.kind === "http" || target.kind === "sse") &&
      target.oauth instanceof MachineOAuthProvider
    ? machineAuthProvider(target.oauth, target.url)
    : options.oauth?.provider;
  switch (target.kind) {
    case "http":
      return new StreamableHTTPClientTransport(target.url, {
        requestInit: { headers },
        ...(authProvider ? { authProvider } : {}),
      });
    case "sse":
      return new SSEClientTransport(target.url, {
        requestInit: { headers },
        ...(authProvider ? { authProvider } : {}),
      });
    case "ws":
      return new WebSocketClientTransport(target.url, { headers });
    case "stdio":
      return new StdioClientTransport({
        command: target.command,
        args: target.args,
        env: { ...getDefaultEnvironment(), ...options.childEnv, ...target.env },
        stderr: options.stderr ?? "pipe",
      });
  }
}

/**
 * Connects a new SDK `Client` to `target`, speaking 2026-07-28 when the server answers
 * `server/discover` and falling back to `initialize` (2025) when it does not; rejects with a
 * message naming the target when the server cannot be reached or does not complete the handshake
 * within the timeout.
 * @example
 * ```ts
 * const client = await connectTarget(parseTarget("http://127.0.0.1:8080/mcp"), {
 *   clientName: "mcpcomm-client",
 *   version: "0.1.0",
 * });
 * await client.listTools();
 * ```
 */
export async function connectTarget(target: Target, options: ConnectOptions): Promise<Client> {
  try {
    return await connectOnce(target, options);
  } catch (error) {
    const oauth = target.kind === "http" || target.kind === "sse" ? options.oauth : undefined;
    if (!oauth || !(error instanceof TargetError) || !UnauthorizedError.isInstance(error.cause)) {
      throw error;
    }
    const transport = error.transport as StreamableHTTPClientTransport | SSEClientTransport;
    try {
      await transport.finishAuth(await oauth.authorize(AbortSignal.timeout(300_000)));
    } catch (cause) {
      throw new TargetError(
        `Cannot authorize at ${describeTarget(target)}: ${connectFailure(cause)}`,
        { cause },
      );
    }
    return await connectOnce(target, options);
  }
}

async function connectOnce(target: Target, options: ConnectOptions): Promise<Client> {
  const client = new Client(
    { name: options.clientName, version: options.version },
    { capabilities: {}, ...options.client, versionNegotiation: { mode: "auto" } },
  );
  options.setup?.(client);
  const transport = createTransport(target, options);
  const stderrTail = transport instanceof StdioClientTransport ? tailOf(transport) : undefined;
  const timeoutMs = options.timeoutMs ?? 15000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.connect(transport, { timeout: timeoutMs }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    await client.close().catch(() => {});
    const said = stderrTail?.().trim().split("\n").filter(Boolean).slice(-3).join(" | ");
    const failure = new TargetError(
      `Cannot connect to ${describeTarget(target)}: ${connectFailure(error)}${
        said ? ` (its stderr: ${said})` : ""
      }`,
      { cause: error },
    );
    failure.transport = transport;
    throw failure;
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/**
 * Closes a client; over Streamable HTTP it first ends the session (`DELETE`), so the server
 * frees it at once instead of when it idles out.
 */
export async function disconnect(client: Client): Promise<void> {
  const transport = client.transport;
  if (transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
    await transport.terminateSession().catch(() => {});
  }
  await client.close().catch(() => {});
}

/** The negotiated protocol revision and its era, e.g. `2026-07-28 (modern)`, once connected. */
export function protocolOf(client: Client): { revision: string; era: "modern" | "legacy" } {
  return {
    revision: client.getNegotiatedProtocolVersion() ?? "unknown",
    era: client.getProtocolEra() ?? "legacy",
  };
}

/** Keeps the last 4 KiB a stdio child wrote to stderr; returns a reader of it. */
function tailOf(transport: StdioClientTransport): () => string {
  let tail = "";
  const stream = transport.stderr as
    | { on(event: "data", fn: (chunk: Uint8Array | string) => void): void }
    | null;
  stream?.on("data", (chunk) => {
    tail = (tail + (typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk))).slice(
      -4096,
    );
  });
  return () => tail;
}

/** A target that could not be reached; the message names it. */
export class TargetError extends Error {
  override name = "TargetError";
  /** The transport that failed, for finishing an OAuth authorization on it. */
  transport?: Transport;
}

/** Whether `error` or one of its causes says the connection was refused. */
export function isConnectionRefused(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (/ECONNREFUSED|Connection refused|os error 111/i.test(e.message)) return true;
  }
  return false;
}

function connectFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (isConnectionRefused(error)) return "connection refused";
  if (/ENOENT|NotFound|No such file/i.test(message)) return `command not found (${message})`;
  return message || "unknown error";
}
