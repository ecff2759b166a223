import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { eventually, startTestServerB } from "../_helpers.ts";
import { startMcpHttp } from "./_harness.ts";

const TOKEN = "tok-Pq3Ws8Ed5Rf1Tg6Yh2";

interface ToolAnswer {
  isError?: boolean;
  content: { type: string; text?: string }[];
}

/** Reads the events of a live SSE stream with a real parser, as they come. */
class EventReader {
  readonly events: EventSourceMessage[] = [];
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #parser = createParser({ onEvent: (event) => this.events.push(event) });
  readonly #decoder = new TextDecoder();

  constructor(response: Response) {
    this.#reader = response.body!.getReader();
  }

  /** Resolves the `count`-th event (from 1) once it has arrived. */
  async event(count: number): Promise<EventSourceMessage> {
    while (this.events.length < count) {
      const { done, value } = await this.#reader.read();
      if (done) throw new Error(`the stream ended after ${this.events.length} events`);
      this.#parser.feed(this.#decoder.decode(value, { stream: true }));
    }
    return this.events[count - 1]!;
  }

  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

Deno.test("Server B over legacy HTTP+SSE (/sse + /messages) serves the SDK's SSEClientTransport", async (t) => {
  await using b = await startTestServerB({ MCPCOMM_AUTH_TOKEN: TOKEN });
  const auth = { authorization: `Bearer ${TOKEN}` };

  await t.step("lists and calls tools with the token", async () => {
    const client = new Client({ name: "legacy", version: "1.0.0" });
    await client.connect(
      new SSEClientTransport(new URL(`${b.url}/sse`), { requestInit: { headers: auth } }),
    );
    const { tools } = (await client.listTools()) as { tools: { name: string }[] };
    assertEquals(tools.map((tool) => tool.name).sort(), [
      "configure_ai_model",
      "get_ai_stats",
      "get_received_messages",
      "process_message",
    ]);
    const answer = (await client.callTool({
      name: "process_message",
      arguments: { message: "over legacy SSE" },
    })) as ToolAnswer;
    assertMatch(answer.content[0]?.text ?? "", /You said: 'over legacy SSE'/);
    assertEquals(await client.setLoggingLevel("error"), {});
    await client.close();
  });

  await t.step("without the token the SSE connection is refused with 401", async () => {
    const client = new Client({ name: "legacy", version: "1.0.0" });
    let failure: unknown;
    try {
      await client.connect(new SSEClientTransport(new URL(`${b.url}/sse`)));
    } catch (error) {
      failure = error;
    }
    assert(failure instanceof Error, "connect fails");
    assertMatch(String(failure), /401/);
    await client.close();
  });
});

Deno.test("createMcpHttpHandler() legacy SSE: endpoint event, messages as events, guards, session end", async (t) => {
  await using server = await startMcpHttp({ MAX_BODY_BYTES: String(32 * 1024) });
  const { url } = server;
  const stream = await fetch(`${url}/sse`, { headers: { accept: "text/event-stream" } });
  assertEquals(stream.status, 200);
  assertMatch(stream.headers.get("content-type") ?? "", /^text\/event-stream/);
  const events = new EventReader(stream);
  const endpoint = await events.event(1);
  assertEquals(endpoint.event, "endpoint");
  assertMatch(endpoint.data, /^\/messages\?sessionId=[0-9a-f]{40}$/);
  const messages = `${url}${endpoint.data}`;
  assertEquals(server.mcp.sessionCount, 1);

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(messages, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  await t.step("a POSTed request is accepted with 202 and answered on the stream", async () => {
    const accepted = await post({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2024-11-05",
        capabilities: {},
        clientInfo: { name: "raw", version: "1" },
      },
    });
    assertEquals(accepted.status, 202);
    await accepted.body?.cancel();
    const message = await events.event(2);
    assertEquals(message.event, "message");
    const result = JSON.parse(message.data);
    assertEquals(result.id, 1);
    assertEquals(result.result.protocolVersion, "2024-11-05");
    assertEquals(result.result.serverInfo.name, "test-mcp");
  });

  await t.step("guards: 413 over the body limit, 400 for a batch and bad JSON, 415", async () => {
    const big = await post({
      jsonrpc: "2.0",
      id: 2,
      method: "ping",
      params: { x: "y".repeat(40_000) },
    });
    assertEquals(big.status, 413);
    await big.body?.cancel();
    const batch = await post([{ jsonrpc: "2.0", id: 3, method: "ping" }]);
    assertEquals(batch.status, 400);
    assertMatch((await batch.json()).error.message, /batches are not accepted/);
    const bad = await post("{oops");
    assertEquals(bad.status, 400);
    await bad.body?.cancel();
    const text = await post("{}", { "content-type": "text/plain" });
    assertEquals(text.status, 415);
    await text.body?.cancel();
    const noId = await fetch(`${url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assertEquals(noId.status, 400);
    await noId.body?.cancel();
  });

  await t.step("closing the stream ends the session: its endpoint answers 404", async () => {
    await events.cancel();
    await eventually(() => server.mcp.sessionCount === 0, { what: "the legacy session to end" });
    assert(!server.servers[0]!.isConnected(), "its MCP server is closed");
    const after = await post({ jsonrpc: "2.0", id: 4, method: "ping" });
    assertEquals(after.status, 404);
    await after.body?.cancel();
  });
});
