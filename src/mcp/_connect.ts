/**
 * An SDK `Client` connected to a target over the matching transport, speaking MCP 2026-07-28
 * when the server offers it (a `server/discover` probe) and the 2025 `initialize` handshake
 * otherwise.
 * @module
 */
import {
  Client,
  type ClientOptions,
  type OAuthClientProvider,
  SdkError,
  SdkErrorCode,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Transport,
  UnauthorizedError,
} from "@modelcontextprotocol/client";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { machineAuthProvider, MachineOAuthProvider } from "../oauth/mod.ts";
import { describeTarget, type Target } from "./targets.ts";
import { WebSocketClientTransport } from "./_ws_client.ts";

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
      return new SameChildStdioTransport({
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

/**
 * The SDK's stdio transport under its own class: the SDK probes `server/discover` on a subclass's
 * own child and falls back to `initialize` on that child, where for the base class it spawns a
 * second, probe-only child.
 */
class SameChildStdioTransport extends StdioClientTransport {}

/**
 * Connects negotiating the era; a stdio child that exits on the `server/discover` probe is a 2025
 * server that ends on any request before `initialize`: it is spawned again for `initialize`.
 */
async function connectOnce(target: Target, options: ConnectOptions): Promise<Client> {
  try {
    return await connectWith(target, options, "auto");
  } catch (error) {
    if (target.kind !== "stdio" || !closedOnProbe(error)) throw error;
    return await connectWith(target, options, "legacy");
  }
}

function closedOnProbe(error: unknown): boolean {
  const cause = error instanceof TargetError ? error.cause : undefined;
  return cause instanceof SdkError && cause.code === SdkErrorCode.EraNegotiationFailed &&
    cause.message.includes("closed during the server/discover probe");
}

async function connectWith(
  target: Target,
  options: ConnectOptions,
  mode: "auto" | "legacy",
): Promise<Client> {
  const client = new Client(
    { name: options.clientName, version: options.version },
    { capabilities: {}, ...options.client, versionNegotiation: { mode } },
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
