/**
 * Test helper: the client-matrix steps every MCP server's test runs (a v2 client negotiating,
 * a v1 client over Streamable HTTP and legacy HTTP+SSE, both handshakes over stdio), each given
 * the server's URL or command and what to do with the connected client.
 * @module
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import {
  StdioClientTransport,
  type StdioServerParameters,
} from "@modelcontextprotocol/client/stdio";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport as V1SseTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport as V1HttpTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport as V1StdioTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { assert, assertEquals } from "../_assert.ts";
import { initializeBody } from "./_harness.ts";

/**
 * What a step does with its connected client (list the tools, call one, assert); `label` names
 * the step (`auto`, `v1`, `sse`, `stdio modern`, `stdio 2025`).
 */
export type Exercise<C> = (client: C, label: string) => Promise<unknown>;

/** A v2 client negotiating (`auto`) on `mcpUrl` picks 2026-07-28, then `exercise`s it. */
export async function autoPicksModern(mcpUrl: URL, exercise: Exercise<Client>): Promise<void> {
  const client = new Client({ name: "v2-auto", version: "1.0.0" }, {
    versionNegotiation: { mode: "auto" },
  });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl));
  try {
    assertEquals(client.getProtocolEra(), "modern");
    await exercise(client, "auto");
  } finally {
    await client.close();
  }
}

/**
 * Steps `Streamable HTTP` (a session on `mcpUrl`, named `serverName`, ended after `exercise`)
 * and `legacy HTTP+SSE` (on `sseUrl`) with a v1 SDK client.
 */
export async function v1Steps(
  t: Deno.TestContext,
  urls: { mcpUrl: URL; sseUrl: URL },
  serverName: string,
  exercise: Exercise<V1Client>,
): Promise<void> {
  await t.step("Streamable HTTP", async () => {
    const client = new V1Client({ name: "v1-http", version: "1.0.0" });
    const transport = new V1HttpTransport(urls.mcpUrl);
    await client.connect(transport);
    try {
      assertEquals(client.getServerVersion()?.name, serverName);
      assert(transport.sessionId);
      await exercise(client, "v1");
      await transport.terminateSession();
    } finally {
      await client.close();
    }
  });
  await t.step("legacy HTTP+SSE", async () => {
    const client = new V1Client({ name: "v1-sse", version: "1.0.0" });
    await client.connect(new V1SseTransport(urls.sseUrl));
    try {
      await exercise(client, "sse");
    } finally {
      await client.close();
    }
  });
}

/**
 * Steps `v2 client, 2026-07-28` and `v1 client, initialize` (which checks the server is named
 * `serverName`) against the stdio server that `params` starts.
 */
export async function stdioSteps(
  t: Deno.TestContext,
  params: StdioServerParameters,
  serverName: string,
  exercise: Exercise<Client | V1Client>,
): Promise<void> {
  await t.step("v2 client, 2026-07-28", async () => {
    const client = new Client({ name: "v2-stdio", version: "1.0.0" }, {
      versionNegotiation: { mode: { pin: "2026-07-28" } },
    });
    await client.connect(new StdioClientTransport(params));
    try {
      assertEquals(client.getProtocolEra(), "modern");
      await exercise(client, "stdio modern");
    } finally {
      await client.close();
    }
  });
  await t.step("v1 client, initialize", async () => {
    const client = new V1Client({ name: "v1-stdio", version: "1.0.0" });
    await client.connect(new V1StdioTransport(params));
    try {
      assertEquals(client.getServerVersion()?.name, serverName);
      await exercise(client, "stdio 2025");
    } finally {
      await client.close();
    }
  });
}

/**
 * Opens a 2025-11-25 session on `mcpUrl` with raw JSON-RPC over HTTP (no SDK); the function it
 * resolves POSTs a `tools/call` with `params` in that session and resolves the raw response.
 */
export async function rawSession(
  mcpUrl: URL | string,
): Promise<(params: Record<string, unknown>) => Promise<Response>> {
  const headers = {
    accept: "application/json, text/event-stream",
    "content-type": "application/json",
  };
  const post = (body: unknown, extra: Record<string, string> = {}) =>
    fetch(mcpUrl, {
      method: "POST",
      headers: { ...headers, ...extra },
      body: JSON.stringify(body),
    });
  const init = await post(initializeBody());
  const session = init.headers.get("mcp-session-id")!;
  await init.body?.cancel();
  return (params) =>
    post(
      { jsonrpc: "2.0", id: 2, method: "tools/call", params },
      { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" },
    );
}
