/**
 * Server B as an MCP server (`ai-responder-server`, SDK v2): its own tools over the AI service,
 * the same definition for 2026-07-28 requests and 2025-era sessions.
 * @module
 */
import { type CacheHint, McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { defineTool, errorResult, jsonResult, sharedJsonSchemaValidator } from "../mcp/mod.ts";
import { processShape } from "../wire.ts";
import type { AiService } from "./_service.ts";

/** The MCP server name of Server B. */
export const SERVER_B_MCP_NAME = "ai-responder-server";

const processInput = processShape({
  message: "The message for the AI",
  context: "Optional context placed before the message",
  model: "Model name (short or full); default from settings",
  temperature: "Sampling temperature, 0 to 2",
  max_tokens: "Most tokens in the answer",
});

const receivedShape = {
  limit: z.number().int().min(1).max(10000).optional().describe("Most messages to return"),
  offset: z.number().int().min(0).optional().describe(
    "Newest messages to skip, for paging back (default 0)",
  ),
};

const configureShape = processShape({
  model: "New default model",
  temperature: "New default temperature, 0 to 2",
  max_tokens: "New default max tokens",
});

/**
 * The 2026-07-28 caching hint of Server B's tool list and `server/discover`: both are fixed for
 * the life of the process and the same for every caller.
 */
const STATIC_LIST: CacheHint = { ttlMs: 300_000, cacheScope: "public" };

/**
 * Creates a fresh MCP server exposing Server B's tools; one per 2026-07-28 request, per 2025-era
 * session or per stdio connection. The tools' schemas and the JSON Schema validator are built
 * once and shared by every instance. No tool sends a message before its result, so `mod.ts` may
 * answer 2025-era calls as one JSON response.
 * @example
 * ```ts
 * const mcp = createServerBMcp(service, "0.1.0");
 * serveStdio(() => createServerBMcp(service, "0.1.0"));
 * ```
 */
export function createServerBMcp(service: AiService, version: string): McpServer {
  const mcp = new McpServer(
    { name: SERVER_B_MCP_NAME, version },
    {
      // The tool list never changes at run time: no list_changed to wait for.
      capabilities: { logging: {}, tools: { listChanged: false } },
      jsonSchemaValidator: sharedJsonSchemaValidator(),
      cacheHints: { "tools/list": STATIC_LIST, "server/discover": STATIC_LIST },
    },
  );

  defineTool(mcp, "process_message", {
    title: "Process a message with AI",
    description: "Answer a message with Server B's AI provider, as POST /process does.",
    inputSchema: processInput,
  }, async (args, ctx) => {
    try {
      const answer = await service.process(args, ctx.mcpReq.signal);
      return jsonResult(answer, answer.aiResponse);
    } catch (error) {
      return errorResult(error);
    }
  });

  defineTool(mcp, "get_received_messages", {
    title: "Messages received",
    description: "Messages Server B received and its AI answers, newest last. Page back with " +
      "offset: offset 50 skips the 50 newest.",
    inputSchema: receivedShape,
  }, async ({ limit, offset }) => {
    const [messages, stats, kept] = await Promise.all([
      service.ledger.recent(limit ?? 50, offset ?? 0),
      service.ledger.stats(),
      service.ledger.size,
    ]);
    return jsonResult({
      totalReceived: stats.totalRequests,
      kept,
      offset: offset ?? 0,
      returned: messages.length,
      messages,
    });
  });

  defineTool(mcp, "get_ai_stats", {
    title: "AI usage statistics",
    description: "Requests, tokens, cost, per-model breakdown and average response time.",
  }, async () => jsonResult({ provider: service.provider.name, ...await service.ledger.stats() }));

  defineTool(mcp, "configure_ai_model", {
    title: "Configure the AI model",
    description: "Change the default model, temperature or max tokens at run time.",
    inputSchema: configureShape,
  }, ({ model, temperature, max_tokens }) => {
    if (model === undefined && temperature === undefined && max_tokens === undefined) {
      return errorResult("Give at least one of model, temperature, max_tokens");
    }
    const defaults = service.configure({ model, temperature, maxTokens: max_tokens });
    return jsonResult({ status: "updated", ...defaults });
  });

  return mcp;
}
