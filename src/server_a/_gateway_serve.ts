/**
 * What Server A serves of the gateway (its downstream side), on the MCP SDK v2: the upstreams'
 * namespaced tools, resources and prompts next to Server A's own tools, the status tool and the
 * pipeline tools. The merged lists and the routing are the server's `tools/*`, `resources/*` and
 * `prompts/*` request handlers, set with the public `Server.setRequestHandler` (which replaces
 * the handlers `McpServer` installed): the upstream lists change at run time and a 2026-07-28
 * request builds a server per request, so registering every upstream tool on each instance
 * (`fromJsonSchema`) would cost more per request than answering from the gateway's tables.
 * Server A's own tools keep their `McpServer` registrations and run through `callDefinedTool`.
 * @module
 */
import {
  type CallToolResult,
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import {
  callDefinedTool,
  definedTools,
  defineTool,
  jsonResult,
  type ToolContext,
  toolDefinition,
} from "../mcp/mod.ts";
import * as calls from "./_gateway_calls.ts";
import { forwardedCapabilities, type GatewayCore, status } from "./_gateway_core.ts";
import { featuredView, featuresOf } from "./_gateway_input.ts";
import { freshen, resourceTemplates } from "./_gateway_merge.ts";
import {
  namespacedPrompts,
  namespacedResources,
  namespacedTools,
  toolTable,
} from "./_gateway_naming.ts";
import { setLogLevel, subscription } from "./_gateway_send.ts";
import type { GatewaySession } from "./_session_pool.ts";
import { type CallForwarding, type Pipeline, runPipeline } from "./_gateway_pipeline.ts";

/** Name of the gateway's own status tool. */
export const GATEWAY_STATUS_TOOL = "gateway_upstreams";

/** What {@linkcode serveGateway} serves besides the gateway's upstreams. */
export interface GatewayServeOptions {
  pipelines: readonly Pipeline[];
  /** The 2025-era session this server instance serves (none for a 2026-07-28 request). */
  session?: GatewaySession | undefined;
}

const pipelineShape = { message: z.string().describe("The message for the first step") };

/** The forwarding context the gateway's calls take, from a v2 handler context. */
function forwardingOf(ctx: ToolContext): CallForwarding {
  return {
    signal: ctx.mcpReq.signal,
    sendNotification: (notification: { method: string; params?: Record<string, unknown> }) =>
      ctx.mcpReq.notify(notification as never),
    sendRequest: (request: { method: string; params?: Record<string, unknown> }) =>
      ctx.mcpReq.send(request as never),
    ...(ctx.mcpReq._meta ? { _meta: ctx.mcpReq._meta } : {}),
    caller: callerOf(ctx),
  };
}

/** The `Authorization` header of the HTTP request behind `ctx`; empty without one (stdio). */
function callerOf(ctx: ToolContext): string {
  return ctx.http?.req?.headers.get("authorization") ?? "";
}

/**
 * Adds the gateway to one server instance (a 2025-era session's, a stdio connection's or a
 * 2026-07-28 request's): registers the status and pipeline tools, declares the list-changed
 * capabilities and answers the merged lists. Call after Server A's tools are registered and
 * before `connect`.
 * @example
 * ```ts
 * const mcp = serveGateway(core, createServerAMcp(deps, { gateway: true }), { pipelines });
 * ```
 */
export function serveGateway(
  core: GatewayCore,
  mcp: McpServer,
  options: GatewayServeOptions,
): McpServer {
  const forwarded = forwardedCapabilities(core);
  mcp.server.registerCapabilities({
    tools: { listChanged: true },
    resources: { listChanged: true },
    prompts: { listChanged: true },
    ...(forwarded.subscribe ? { resources: { listChanged: true, subscribe: true } } : {}),
    ...(forwarded.completions ? { completions: {} } : {}),
    ...(forwarded.logging ? { logging: {} } : {}),
  });
  const session = options.session;

  defineTool(mcp, GATEWAY_STATUS_TOOL, {
    title: "Gateway upstreams",
    description:
      "The MCP servers this gateway aggregates: state, MCP revision, counts, last error, next retry.",
  }, () => {
    const upstreams = status(core);
    const lines = upstreams.map((u) =>
      `${u.name} ${u.state} ${u.target}${
        u.protocol ? ` MCP ${u.protocol}` : ""
      } (${u.tools} tools, ${u.resources} resources, ${u.prompts} prompts)${
        u.lastError ? `: ${u.lastError}` : ""
      }`
    );
    return jsonResult({ upstreams }, lines.join("\n") || "No upstreams configured");
  });

  for (const pipeline of options.pipelines) {
    defineTool(mcp, pipeline.name, {
      title: `Pipeline ${pipeline.name}`,
      description: `Pass a message through ${pipeline.steps.map((s) => s.tool).join(" -> ")}, ` +
        "each step's text output becoming the next step's input.",
      inputSchema: pipelineShape,
    }, (args, ctx) => {
      const forwarding = forwardingOf(ctx);
      return runPipeline(pipeline, args.message, {
        tools: () => toolTable(core.upstreams, session),
        // Without client features a call never answers input_required.
        call: (name, callArgs) =>
          calls.callTool(core, name, callArgs, { ...forwarding, _meta: {} }, session) as Promise<
            CallToolResult | undefined
          >,
      }, forwarding);
    });
  }

  // Server A's own tools win over an upstream tool that happens to get the same name.
  const own = definedTools(mcp);
  const server = mcp.server;
  server.setRequestHandler("tools/list", async (_request, ctx) => {
    await freshen(core, "tools", session);
    const features = session ? undefined : featuresOf(ctx.mcpReq.envelope);
    const view = session ?? (features ? await featuredView(core, features) : undefined);
    const tools = [...own].filter(([, d]) => d.tool.enabled).map(([name, d]) =>
      toolDefinition(name, d.tool)
    );
    return {
      tools: [
        ...tools,
        ...namespacedTools(core.upstreams, view).filter((t) => !own.has(t.name)),
      ],
    };
  });
  server.setRequestHandler("tools/call", async (request, ctx): Promise<CallToolResult> => {
    const { name, arguments: args } = request.params;
    const mine = own.get(name);
    if (mine?.tool.enabled) return await callDefinedTool(name, mine.tool, args, ctx);
    const state = session ? undefined : ctx.mcpReq.requestState();
    if (typeof state === "string") {
      return await calls.resumeTool(
        core,
        name,
        state,
        ctx.mcpReq.inputResponses,
        ctx.mcpReq.signal,
        callerOf(ctx),
      ) as CallToolResult;
    }
    const features = session ? undefined : featuresOf(ctx.mcpReq.envelope);
    const answer = await calls.callTool(core, name, args, forwardingOf(ctx), session, features);
    if (!answer) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${name} not found`);
    return answer as CallToolResult;
  });
  server.setRequestHandler("resources/list", async () => {
    await freshen(core, "resources", session);
    return { resources: namespacedResources(core.upstreams, session) };
  });
  server.setRequestHandler("resources/read", async (request, ctx) => {
    const result = await calls.readResource(core, request.params.uri, ctx.mcpReq.signal, session);
    if (!result) throw new ResourceNotFoundError(request.params.uri);
    return result as never;
  });
  server.setRequestHandler("resources/templates/list", async (_request, ctx) => ({
    resourceTemplates: await resourceTemplates(core, ctx.mcpReq.signal, session) as never,
  }));
  if (forwarded.completions) {
    server.setRequestHandler("completion/complete", async (request, ctx) => {
      const result = await calls.complete(core, request.params, ctx.mcpReq.signal, session);
      if (!result) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `No upstream prompt or resource template ${JSON.stringify(request.params.ref)}`,
        );
      }
      return result;
    });
  }
  if (forwarded.logging) {
    server.setRequestHandler("logging/setLevel", async (request) => {
      await setLogLevel(core, session, request.params.level);
      return {};
    });
  }
  if (forwarded.subscribe) {
    server.setRequestHandler("resources/subscribe", async (request) => {
      await subscription(core, session, request.params.uri, true);
      return {};
    });
    server.setRequestHandler("resources/unsubscribe", async (request) => {
      await subscription(core, session, request.params.uri, false);
      return {};
    });
  }
  server.setRequestHandler("prompts/list", async () => {
    await freshen(core, "prompts", session);
    return { prompts: namespacedPrompts(core.upstreams, session) as never };
  });
  server.setRequestHandler("prompts/get", async (request, ctx) => {
    const { name, arguments: args } = request.params;
    const result = await calls.getPrompt(core, name, args, ctx.mcpReq.signal, session);
    if (!result) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Prompt ${name} not found`);
    }
    return result as never;
  });
  return mcp;
}
