/**
 * One connection of `mcpcomm client`: opening it (with an interactive OAuth provider where the
 * server may ask for one), its row in `servers`, and a call authorized again when asked to.
 * @module
 */
import {
  type Client,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from "@modelcontextprotocol/client";
import { connectTarget, describeTarget, type Target, transportLabel } from "../mcp/mod.ts";
import { MachineOAuthProvider } from "../oauth/mod.ts";
import { type BrowserMode, FileOAuthProvider } from "./_oauth.ts";

function isUnauthorized(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    if (UnauthorizedError.isInstance(e)) return true;
    e = (e as Error).cause;
  }
  return false;
}

/** One connected server. */
export interface Connection {
  name: string;
  target: Target;
  client: Client;
  /** The server's name and version (`initialize` answer or `server/discover` metadata). */
  serverInfo: { name: string; version: string };
  /** The negotiated MCP revision, e.g. `2026-07-28` or `2025-11-25`. */
  protocol: string;
  /** Set when the transport closed under us. */
  closedReason?: string;
  /** The interactive OAuth provider, for an authorization the server asks for later. */
  oauth?: FileOAuthProvider;
}

/** A server's row in `servers`. */
export interface ServerSummary {
  name: string;
  transport: string;
  target: string;
  serverName: string;
  serverVersion: string;
  /** The negotiated MCP revision. */
  protocol: string;
  connected: boolean;
}

/** Options of {@linkcode ServerRegistry}. */
export interface RegistryOptions {
  clientName: string;
  version: string;
  /** Timeout of one request, in milliseconds. */
  timeoutMs: number;
  /** Variables passed on to `stdio:` servers. */
  childEnv?: Record<string, string> | undefined;
  /**
   * Interactive OAuth for HTTP servers that ask for it: where tokens are stored, the client ID
   * metadata document URL and how the browser is reached. Without it a 401 fails the connection.
   */
  oauth?: {
    dir: string;
    clientMetadataUrl?: string | undefined;
    browser: BrowserMode;
    /** Ask for DPoP-bound tokens wherever the authorization server offers them. */
    dpop?: boolean | undefined;
  } | undefined;
}

/**
 * Connects a client to `target`; an HTTP target without client credentials gets an interactive
 * OAuth provider when `options.oauth` is set, paused once connected.
 */
export async function openConnection(
  target: Target,
  options: RegistryOptions,
): Promise<{ client: Client; provider: FileOAuthProvider | undefined }> {
  const oauth = options.oauth;
  const web = target.kind === "http" || target.kind === "sse" ? target : undefined;
  const preRegistered = web?.oauth && !(web.oauth instanceof MachineOAuthProvider)
    ? web.oauth
    : undefined;
  const provider = oauth && web && (!web.oauth || preRegistered)
    ? new FileOAuthProvider({
      ...oauth,
      serverUrl: web.url,
      preRegistered: preRegistered && {
        client_id: preRegistered.clientId,
        ...(preRegistered.clientSecret ? { client_secret: preRegistered.clientSecret } : {}),
      },
    })
    : undefined;
  let client: Client;
  try {
    await provider?.open();
    client = await connectTarget(target, {
      clientName: options.clientName,
      version: options.version,
      timeoutMs: options.timeoutMs,
      childEnv: options.childEnv,
      ...(provider
        ? { oauth: { provider, authorize: (signal) => provider.authorize(signal) } }
        : {}),
    });
  } catch (error) {
    await provider?.close();
    throw error;
  }
  await provider?.pause();
  return { client, provider };
}

/** The connection's row in `servers`. */
export function summaryOf(c: Connection): ServerSummary {
  return {
    name: c.name,
    transport: transportLabel(c.target),
    target: describeTarget(c.target),
    serverName: c.serverInfo.name,
    serverVersion: c.serverInfo.version,
    protocol: c.protocol,
    connected: c.closedReason === undefined,
  };
}

/**
 * Runs `fn` on a connection; when the server asks for a new authorization mid-session (a
 * token that cannot be refreshed, a 403 step-up to more scope), authorizes and runs it once
 * more.
 */
export async function authorized<T>(
  connection: Connection,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  try {
    return await fn(connection.client);
  } catch (error) {
    const transport = connection.client.transport;
    if (
      !connection.oauth || !isUnauthorized(error) ||
      !(transport instanceof StreamableHTTPClientTransport ||
        transport instanceof SSEClientTransport)
    ) throw error;
    await transport.finishAuth(await connection.oauth.authorize(AbortSignal.timeout(300_000)));
    await connection.oauth.pause();
    return await fn(connection.client);
  }
}
