/**
 * Server A as an MCP server (`messenger-server`): tools that forward messages to Server B and
 * report what was exchanged.
 * @module
 */
import { type CacheHint, McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { describeError, isoNow, type Logger } from "../core/mod.ts";
import type { Ledger } from "../ledger/mod.ts";
import {
  defineTool,
  errorResult,
  jsonResult,
  sharedJsonSchemaValidator,
  type ToolContext,
} from "../mcp/mod.ts";
import { type ProcessRequest, type ProcessResponse, processShape } from "../wire.ts";
import type { ServerBClient } from "./_b_client.ts";

/** The MCP server name of Server A. */
export const SERVER_A_MCP_NAME = "messenger-server";

/** What the messenger's tools need; shared by every MCP session of one Server A. */
export interface MessengerDeps {
  client: ServerBClient;
  ledger: Ledger;
  version: string;
  log?: Logger | undefined;
}

const sendShape = processShape({
  message: "The message for the AI on Server B",
  context: "Optional context placed before the message",
  model: "Model name (short or full); default: Server B's default model",
  temperature: "Sampling temperature, 0 to 2",
  max_tokens: "Most tokens in the answer, 1 to 200000",
});

const historyShape = {
  limit: z.number().int().min(1).max(10000).optional().describe(
    "Most messages to return, newest ones (default 50)",
  ),
  offset: z.number().int().min(0).optional().describe(
    "Newest messages to skip, for paging back (default 0)",
  ),
};

function roundSeconds(ms: number): number {
  return Math.round(ms) / 1000;
}

async function send(
  deps: MessengerDeps,
  request: ProcessRequest,
  ctx: ToolContext,
): Promise<ProcessResponse> {
  const { signal } = ctx.mcpReq;
  const token = ctx.mcpReq._meta?.progressToken;
  if (token === undefined) return await deps.client.process(request, signal);
  let progress = 0;
  let notified = Promise.resolve();
  const answer = await deps.client.stream(request, (text) => {
    progress++;
    const params = { progressToken: token, progress, message: text };
    notified = notified
      .then(() => ctx.mcpReq.notify({ method: "notifications/progress", params }))
      .catch((error) => deps.log?.debug("progress not sent", { error: describeError(error) }));
  }, signal);
  await notified;
  return answer;
}

/** Caching hint of a list that never changes while the server runs. */
const STATIC_LIST: CacheHint = { ttlMs: 300_000, cacheScope: "public" };

/** Caching hint of the gateway's merged list, which changes with the upstreams' lists. */
const CHANGING_LIST: CacheHint = { ttlMs: 0, cacheScope: "private" };

/**
 * Creates a fresh MCP server exposing the messenger's tools; one per 2026-07-28 request, per
 * 2025-era session or per stdio connection, all sharing one Server B client and one ledger. With
 * `gateway` set, its tool list changes with the upstreams' (capability `listChanged`, no caching
 * of `tools/list`).
 * @example
 * ```ts
 * const mcp = createServerAMcp({ client, ledger: createMemoryLedger(1000), version: "0.1.0" });
 * serveStdio(() => createServerAMcp(deps));
 * ```
 */
export function createServerAMcp(
  deps: MessengerDeps,
  options: { gateway?: boolean } = {},
): McpServer {
  const { client, ledger } = deps;
  const gateway = options.gateway ?? false;
  const mcp = new McpServer(
    { name: SERVER_A_MCP_NAME, version: deps.version },
    {
      capabilities: { logging: {}, tools: { listChanged: gateway } },
      jsonSchemaValidator: sharedJsonSchemaValidator(),
      cacheHints: {
        "tools/list": gateway ? CHANGING_LIST : STATIC_LIST,
        "server/discover": STATIC_LIST,
      },
    },
  );

  defineTool(mcp, "send_message_to_ai", {
    quiet: true,
    title: "Send a message to the AI on Server B",
    description:
      "Send a message to Server B, which answers it with its AI provider. Returns the answer as " +
      "text and, as structured content, the model, token usage, estimated cost (USD), response " +
      "time and message ID. With a progress token, the answer streams as progress notifications.",
    inputSchema: sendShape,
  }, async (args, ctx) => {
    const unrecordable = ledger.problem();
    if (unrecordable) return errorResult(`Not sent to Server B: ${unrecordable}`);
    const started = performance.now();
    const timestamp = isoNow();
    let answer: ProcessResponse;
    try {
      answer = await send(deps, args, ctx);
    } catch (error) {
      const message = ctx.mcpReq.signal.aborted
        ? `Cancelled by the client before Server B at ${client.url} answered`
        : describeError(error);
      await ledger.record({
        messageId: crypto.randomUUID(),
        timestamp,
        message: args.message,
        context: args.context,
        model: args.model ?? "default",
        provider: "",
        usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
        estimatedCost: null,
        responseTime: roundSeconds(performance.now() - started),
        status: "error",
        error: message,
      });
      return errorResult(message);
    }
    try {
      await ledger.record({
        messageId: answer.messageId,
        timestamp,
        message: args.message,
        context: args.context,
        aiResponse: answer.aiResponse,
        model: answer.model,
        provider: answer.provider,
        usage: answer.usage,
        estimatedCost: answer.estimatedCost,
        responseTime: roundSeconds(performance.now() - started),
        status: "success",
      });
    } catch (error) {
      return errorResult(error);
    }
    return jsonResult(answer, answer.aiResponse);
  });

  defineTool(mcp, "get_conversation_history", {
    quiet: true,
    title: "Conversation history",
    description:
      "Messages exchanged with Server B, oldest first, with the AI answers, tokens and cost. " +
      "The newest are kept in the ledger; the totals count every message. Page back with " +
      "offset: offset 50 skips the 50 newest.",
    inputSchema: historyShape,
  }, async ({ limit, offset }) => {
    const [stats, messages, kept] = await Promise.all([
      ledger.stats(),
      ledger.recent(limit ?? 50, offset ?? 0),
      ledger.size,
    ]);
    return jsonResult({
      serverBUrl: client.url,
      totalMessages: stats.totalRequests,
      totalAIResponses: stats.successfulRequests,
      failedMessages: stats.failedRequests,
      kept,
      offset: offset ?? 0,
      returned: messages.length,
      messages,
    });
  });

  defineTool(mcp, "get_ai_usage_stats", {
    quiet: true,
    title: "AI usage statistics",
    description:
      "Totals over every message sent to Server B: requests, failures, tokens, estimated cost " +
      "(USD), a per-model breakdown and the average response time in seconds as Server A measured it.",
  }, async () => jsonResult({ serverBUrl: client.url, ...await ledger.stats() }));

  return mcp;
}
