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
} from "../mcp/tools.ts";
import type { Gateway, GatewaySession } from "./gateway.ts";
import {
  type CallForwarding,
  type Pipeline,
  type PipelineDeps,
  runPipeline,
} from "./gateway_pipeline.ts";

/** Name of the gateway's own status tool. */
export const GATEWAY_STATUS_TOOL = "gateway_upstreams";

/** What {@linkcode serveGateway} needs from the gateway besides its public methods. */
export interface GatewayServeOptions {
  /** Every namespaced upstream tool, for the pipelines. */
  toolTable: PipelineDeps["tools"];
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
  };
}

/**
 * Adds the gateway to one server instance (a 2025-era session's, a stdio connection's or a
 * 2026-07-28 request's): registers the status and pipeline tools, declares the list-changed
 * capabilities and answers the merged lists. Call after Server A's tools are registered and
 * before `connect`.
 * @example
 * ```ts
 * const mcp = serveGateway(gateway, createServerAMcp(deps, { gateway: true }), { toolTable, pipelines });
 * ```
 */
export function serveGateway(
  gateway: Gateway,
  mcp: McpServer,
  options: GatewayServeOptions,
): McpServer {
  const forwarded = gateway.forwardedCapabilities();
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
    const upstreams = gateway.status();
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
        tools: options.toolTable,
        call: (name, callArgs) =>
          gateway.callTool(name, callArgs, { ...forwarding, _meta: {} }, session),
      }, forwarding);
    });
  }

  // Server A's own tools win over an upstream tool that happens to get the same name.
  const own = definedTools(mcp);
  const server = mcp.server;
  server.setRequestHandler("tools/list", async () => {
    await gateway.freshen("tools", session);
    const tools = [...own].filter(([, d]) => d.tool.enabled).map(([name, d]) =>
      toolDefinition(name, d.tool)
    );
    return { tools: [...tools, ...gateway.tools(session).filter((t) => !own.has(t.name))] };
  });
  server.setRequestHandler("tools/call", async (request, ctx): Promise<CallToolResult> => {
    const { name, arguments: args } = request.params;
    const mine = own.get(name);
    if (mine?.tool.enabled) return await callDefinedTool(name, mine.tool, args, ctx);
    const answer = await gateway.callTool(name, args, forwardingOf(ctx), session);
    if (!answer) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${name} not found`);
    return answer as CallToolResult;
  });
  server.setRequestHandler("resources/list", async () => {
    await gateway.freshen("resources", session);
    return { resources: gateway.resources(session) };
  });
  server.setRequestHandler("resources/read", async (request, ctx) => {
    const result = await gateway.readResource(request.params.uri, ctx.mcpReq.signal, session);
    if (!result) throw new ResourceNotFoundError(request.params.uri);
    return result as never;
  });
  server.setRequestHandler("resources/templates/list", async (_request, ctx) => ({
    resourceTemplates: await gateway.resourceTemplates(ctx.mcpReq.signal, session) as never,
  }));
  if (forwarded.completions) {
    server.setRequestHandler("completion/complete", async (request, ctx) => {
      const result = await gateway.complete(request.params, ctx.mcpReq.signal, session);
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
      await gateway.setLogLevel(session, request.params.level);
      return {};
    });
  }
  if (forwarded.subscribe) {
    server.setRequestHandler("resources/subscribe", async (request) => {
      await gateway.subscription(session, request.params.uri, true);
      return {};
    });
    server.setRequestHandler("resources/unsubscribe", async (request) => {
      await gateway.subscription(session, request.params.uri, false);
      return {};
    });
  }
  server.setRequestHandler("prompts/list", async () => {
    await gateway.freshen("prompts", session);
    return { prompts: gateway.prompts(session) as never };
  });
  server.setRequestHandler("prompts/get", async (request, ctx) => {
    const { name, arguments: args } = request.params;
    const result = await gateway.getPrompt(name, args, ctx.mcpReq.signal, session);
    if (!result) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Prompt ${name} not found`);
    }
    return result as never;
  });
  return mcp;
}
