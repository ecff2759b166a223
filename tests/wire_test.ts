import { Client, InMemoryTransport } from "@modelcontextprotocol/client";
import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { createMemoryLedger } from "../src/ledger/mod.ts";
import { createServerBClient } from "../src/server_a/_b_client.ts";
import { createServerAMcp } from "../src/server_a/tools.ts";
import { createServerBMcp } from "../src/server_b/_tools.ts";
import { ProcessRequest, processShape } from "../src/wire.ts";
import { assertEquals } from "./_assert.ts";
import { createMockService } from "./server_b/_service.ts";

type Properties = Record<string, Record<string, unknown>>;

/** The input properties of `tool` as `tools/list` shows them, descriptions left out. */
async function listedInput(mcp: McpServer, tool: string): Promise<Properties> {
  const client = new Client({ name: "wire-test", version: "0.0.0" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.connect(serverSide);
  await client.connect(clientSide);
  try {
    const { tools } = await client.listTools();
    const listed = tools.find((t) => t.name === tool)!.inputSchema.properties as Properties;
    return Object.fromEntries(
      Object.entries(listed).map(([name, { description: _, ...schema }]) => [name, schema]),
    );
  } finally {
    await client.close();
    await mcp.close();
  }
}

const wire = z.toJSONSchema(ProcessRequest, { target: "draft-2020-12" }).properties as Properties;

Deno.test("processShape() gives each field the checks of POST /process and the tool's description", () => {
  const shape = processShape({ temperature: "Sampling temperature" });
  assertEquals(Object.keys(shape), ["temperature"]);
  assertEquals(shape.temperature.description, "Sampling temperature");
  assertEquals(shape.temperature.safeParse(2.5).success, false);
  assertEquals(ProcessRequest.shape.temperature.description, undefined);
});

Deno.test("Server A's and Server B's message tools take exactly the inputs of POST /process", async () => {
  const ledger = createMemoryLedger(10);
  const service = createMockService(ledger);
  const client = createServerBClient({ url: "http://127.0.0.1:9", timeoutMs: 1000, attempts: 1 });
  try {
    const messenger = createServerAMcp({ client, ledger, version: "0.0.0" });
    assertEquals(await listedInput(messenger, "send_message_to_ai"), wire);
    assertEquals(await listedInput(createServerBMcp(service, "0.0.0"), "process_message"), wire);
    const { model, temperature, max_tokens } = wire;
    assertEquals(await listedInput(createServerBMcp(service, "0.0.0"), "configure_ai_model"), {
      model,
      temperature,
      max_tokens,
    });
  } finally {
    client.close();
  }
});
