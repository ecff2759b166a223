/**
 * Lean MCP-over-HTTP calls for the bench (sessions for wrk, timed tool calls), and a real SDK
 * client over stdio.
 * @module
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/server";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { createParser } from "eventsource-parser";

/** The protocol version the bench speaks. */
export const PROTOCOL_VERSION = "2025-11-25";

const HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** A JSON-RPC message as the bench reads it. */
export interface RpcMessage {
  jsonrpc: "2.0";
  id?: number | string;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/** The initialize request the bench sends. */
export function initializeRequest(id: number | string = 0): RpcMessage {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: "mcpcomm-bench", version: "1.0.0" },
    },
  };
}

/** A `tools/call` request; with `progressToken` the server may report progress. */
export function toolCall(
  id: number | string,
  name: string,
  args: Record<string, unknown>,
  progressToken?: string,
): RpcMessage {
  return callWithMeta(id, name, args, progressToken === undefined ? undefined : { progressToken });
}

function callWithMeta(
  id: number | string,
  name: string,
  args: Record<string, unknown>,
  meta: Record<string, unknown> | undefined,
): RpcMessage {
  return {
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: args, ...(meta === undefined ? {} : { _meta: meta }) },
  };
}

/** The per-request protocol revision (no session) the 2026 rows speak. */
export const MODERN_PROTOCOL_VERSION = "2026-07-28";

/**
 * A 2026-07-28 `tools/call`: the `_meta` envelope (revision, client info, capabilities) in the
 * body; send it with {@linkcode modernHeaders}.
 */
export function modernToolCall(
  id: number | string,
  name: string,
  args: Record<string, unknown>,
): RpcMessage {
  return callWithMeta(id, name, args, {
    [PROTOCOL_VERSION_META_KEY]: MODERN_PROTOCOL_VERSION,
    [CLIENT_INFO_META_KEY]: { name: "mcpcomm-bench", version: "1.0.0" },
    [CLIENT_CAPABILITIES_META_KEY]: {},
  });
}

/** The headers a 2026-07-28 `tools/call` of `name` carries (they must match the body). */
export function modernHeaders(name: string): Record<string, string> {
  return {
    "mcp-protocol-version": MODERN_PROTOCOL_VERSION,
    "mcp-method": "tools/call",
    "mcp-name": name,
  };
}

/**
 * Reads the JSON-RPC messages of a Streamable HTTP answer (SSE or JSON), calling `onMessage` for
 * each as soon as it arrives; stops reading when `onMessage` returns true.
 */
export async function readMessages(
  response: Response,
  onMessage: (message: RpcMessage) => boolean | void,
): Promise<void> {
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("text/event-stream")) {
    const body = await response.text();
    if (!body) return;
    const parsed = JSON.parse(body);
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) onMessage(message);
    return;
  }
  let stop = false;
  const parser = createParser({
    onEvent: (event) => {
      if (stop || !event.data) return;
      if (onMessage(JSON.parse(event.data))) stop = true;
    },
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (!stop) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** POSTs one JSON-RPC message to an MCP endpoint. */
export function post(url: string, message: RpcMessage, sessionId?: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      ...HEADERS,
      ...(sessionId
        ? { "mcp-session-id": sessionId, "mcp-protocol-version": PROTOCOL_VERSION }
        : {}),
    },
    body: JSON.stringify(message),
  });
}

/** Opens a session (initialize, then notifications/initialized); resolves to its id. */
export async function openSession(url: string): Promise<string> {
  const response = await post(url, initializeRequest());
  const sessionId = response.headers.get("mcp-session-id");
  let answer: RpcMessage | undefined;
  await readMessages(response, (message) => {
    if (message.id === 0) answer = message;
    return answer !== undefined;
  });
  if (!response.ok || !sessionId || !answer?.result) {
    throw new Error(
      `initialize at ${url} failed: HTTP ${response.status}, session ${sessionId}, ${
        JSON.stringify(answer)
      }`,
    );
  }
  const ack = await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, sessionId);
  await ack.body?.cancel();
  if (!ack.ok) throw new Error(`notifications/initialized at ${url} failed: HTTP ${ack.status}`);
  return sessionId;
}

/** Ends a session (DELETE); ignores failures. */
export async function closeSession(url: string, sessionId: string): Promise<void> {
  try {
    const response = await fetch(url, {
      method: "DELETE",
      headers: { "mcp-session-id": sessionId, "mcp-protocol-version": PROTOCOL_VERSION },
    });
    await response.body?.cancel();
  } catch {
    // the bench is ending anyway
  }
}

/** Text of a tool result's content; throws when the call failed. */
export function resultText(message: RpcMessage | undefined, what: string): string {
  if (!message) throw new Error(`${what}: no answer`);
  if (message.error) throw new Error(`${what}: ${message.error.message}`);
  const result = message.result as
    | { content?: { type: string; text?: string }[]; isError?: boolean }
    | undefined;
  const text = result?.content?.map((c) => c.text ?? "").join("") ?? "";
  if (result?.isError) throw new Error(`${what}: tool error: ${text}`);
  return text;
}

/** A connected SDK client over stdio, with the server's stderr kept for errors. */
export interface StdioSession {
  client: Client;
  stderr(): string;
  close(): Promise<void>;
}

/** Spawns `command args` and connects the SDK's client to it over stdio. */
export async function connectStdio(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<StdioSession> {
  const transport = new StdioClientTransport({ command, args, env, cwd, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array | string) => {
    stderr = (stderr + chunk.toString()).slice(-8192);
  });
  const client = new Client({ name: "mcpcomm-bench", version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`Cannot connect over stdio to ${args.join(" ")}: ${error}\n${stderr}`);
  }
  return { client, stderr: () => stderr, close: () => client.close() };
}
