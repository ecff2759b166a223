/**
 * Server B as an MCP server (`ai-responder-server`): its own tools over the AI service.
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { defineTool, errorResult, jsonResult, sharedJsonSchemaValidator } from "../mcp/tools.ts";
import type { AiService } from "./service.ts";

/** The MCP server name of Server B. */
export const SERVER_B_MCP_NAME = "ai-responder-server";

const processShape = {
  message: z.string().min(1).describe("The message for the AI"),
  context: z.string().optional().describe("Optional context placed before the message"),
  model: z.string().min(1).optional().describe("Model name (short or full); default from settings"),
  temperature: z.number().min(0).max(2).optional().describe("Sampling temperature, 0 to 2"),
  max_tokens: z.number().int().min(1).max(200000).optional().describe("Most tokens in the answer"),
};

const receivedShape = {
  limit: z.number().int().min(1).max(10000).optional().describe("Most messages to return"),
  offset: z.number().int().min(0).optional().describe(
    "Newest messages to skip, for paging back (default 0)",
  ),
};

const configureShape = {
  model: z.string().min(1).optional().describe("New default model"),
  temperature: z.number().min(0).max(2).optional().describe("New default temperature, 0 to 2"),
  max_tokens: z.number().int().min(1).max(200000).optional().describe("New default max tokens"),
};

/**
 * Creates a fresh MCP server exposing Server B's tools; one per MCP session or stdio connection.
 * The tools' schemas and the JSON Schema validator are built once and shared by every session.
 * @example
 * ```ts
 * const mcp = createServerBMcp(service, "0.1.0");
 * await mcp.connect(new StdioServerTransport());
 * ```
 */
export function createServerBMcp(service: AiService, version: string): McpServer {
  const mcp = new McpServer(
    { name: SERVER_B_MCP_NAME, version },
    { capabilities: { logging: {} }, jsonSchemaValidator: sharedJsonSchemaValidator() },
  );

  defineTool(mcp, "process_message", {
    quiet: true,
    title: "Process a message with AI",
    description: "Answer a message with Server B's AI provider, as POST /process does.",
    inputSchema: processShape,
  }, async (args, extra) => {
    try {
      const answer = await service.process(args, extra.signal);
      return jsonResult(answer, answer.aiResponse);
    } catch (error) {
      return errorResult(error);
    }
  });

  defineTool(mcp, "get_received_messages", {
    quiet: true,
    title: "Messages received",
    description: "Messages Server B received and its AI answers, newest last. Page back with " +
      "offset: offset 50 skips the 50 newest.",
    inputSchema: receivedShape,
  }, ({ limit, offset }) => {
    const messages = service.ledger.recent(limit ?? 50, offset ?? 0);
    return jsonResult({
      totalReceived: service.ledger.stats().totalRequests,
      kept: service.ledger.size,
      offset: offset ?? 0,
      returned: messages.length,
      messages,
    });
  });

  defineTool(mcp, "get_ai_stats", {
    quiet: true,
    title: "AI usage statistics",
    description: "Requests, tokens, cost, per-model breakdown and average response time.",
  }, () => jsonResult({ provider: service.provider.name, ...service.ledger.stats() }));

  defineTool(mcp, "configure_ai_model", {
    quiet: true,
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
