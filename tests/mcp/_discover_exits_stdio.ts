/**
 * A 2025 stdio MCP server that exits when the first thing it reads is `server/discover`, as
 * servers on SDKs that end on any request before `initialize` do. It offers one tool, `echo`.
 * @module
 */

interface Message {
  id?: number;
  method?: string;
  params?: { protocolVersion?: string };
}

function answer(message: Message): unknown {
  switch (message.method) {
    case "initialize":
      return {
        protocolVersion: message.params?.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: "discover-exits", version: "1.0.0" },
      };
    case "tools/list":
      return { tools: [{ name: "echo", inputSchema: { type: "object" } }] };
  }
}

if (import.meta.main) {
  let buffer = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 1);
      if (!line) continue;
      const message = JSON.parse(line) as Message;
      if (message.method === "server/discover") Deno.exit(0);
      if (message.id === undefined) continue;
      const result = answer(message);
      const reply = result === undefined
        ? { jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "Method not found" } }
        : { jsonrpc: "2.0", id: message.id, result };
      Deno.stdout.writeSync(new TextEncoder().encode(`${JSON.stringify(reply)}\n`));
    }
  }
}
