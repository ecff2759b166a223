/**
 * Direct answers to 2026-07-28 `tools/call` POSTs of quiet tools, the per-request side of
 * `./_direct_call.ts`. Why: through the SDK's `createMcpHandler` such a call builds an McpServer,
 * connects it to a per-request transport, lifts the envelope and validates request and result
 * with the wire codec; a V8 profile of Server A found ~60 µs more CPU per call there than on the
 * 2025-era direct path and about twice the GC, and `deno task bench --no-memory` measured the
 * 2026-07-28 call at 1.64 ms p50 over the bare relay floor against 0.88 ms for the 2025-era
 * direct call (issue 14 asks for under 1 ms); with this path, 0.91-0.94 ms against 0.83-0.91 ms
 * (two runs, 2026-12-03). This answers, from one McpServer built once (the tool set does not
 * depend on the request), exactly the calls whose SDK answer is the tool's result and nothing
 * else: a well-formed `tools/call` of a quiet, enabled tool, no progress token,
 * no task, headers agreeing with the body and the envelope as SEP-2243 requires, and the tool
 * declares no `Mcp-Param-*` header, scope challenge or output schema. Anything else returns
 * `undefined` and goes to the SDK unchanged, which keeps answering every protocol error. The
 * answer is the SDK's byte for byte (`resultType`, `_meta` server identity, field order), the
 * server identity read once from the SDK's own `server/discover` answer: v2 has no public getter.
 * @module
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  isJsonContentType,
  type McpHttpHandler as SdkMcpHttpHandler,
  type McpServer,
  PROTOCOL_VERSION_META_KEY,
  SERVER_INFO_META_KEY,
} from "@modelcontextprotocol/server";
import { describeError, type Logger } from "../core/mod.ts";
import { type DefinedTool, toolDefinition } from "./tools.ts";
import {
  callController,
  type DirectCall,
  directCallOf,
  isRecord,
  runDirectCall,
} from "./_direct_call.ts";
import { routesModern } from "./_modern_route.ts";

/** The one protocol revision of the per-request era. */
const MODERN = "2026-07-28";

/** The only keys of a directly answered call's `params`. */
const PARAM_KEYS = new Set(["name", "arguments", "_meta"]);

/** Direct answers for the 2026-07-28 side of `/mcp`. */
export interface ModernDirect {
  /** The answer to `request` (its body parsed as `body`) when it may be answered directly. */
  answer(request: Request, body: unknown): Promise<Response | undefined>;
  /** Aborts the calls running; their answers become 499, as the SDK's do. */
  close(): void;
}

/** What {@linkcode createModernDirect} needs. */
export interface ModernDirectOptions {
  /** Builds the McpServer whose quiet tools are answered directly (called once). */
  createServer: () => McpServer;
  /** The SDK handler, asked once for the server identity its answers carry. */
  sdk: SdkMcpHttpHandler;
  log: Logger;
}

/**
 * Creates the direct answers of one `/mcp`; the first eligible call builds the server and reads
 * its identity, and if that fails every call goes to the SDK.
 */
export function createModernDirect(options: ModernDirectOptions): ModernDirect {
  let ready: Promise<{ mcp: McpServer; serverInfo: unknown } | undefined> | undefined;
  const running = new Set<AbortController>();
  const prepare = () =>
    ready ??= (async () => {
      try {
        const serverInfo = await serverIdentity(options.sdk);
        return { mcp: options.createServer(), serverInfo };
      } catch (error) {
        options.log.debug("2026-07-28 direct answers off", { error: describeError(error) });
        return undefined;
      }
    })();

  return {
    async answer(request, body) {
      if (!isRecord(body) || body.method !== "tools/call" || !agrees(request, body)) {
        return undefined;
      }
      const served = await prepare();
      const direct = served && directCallOf(served.mcp, body);
      if (!served || !direct || !modernQuiet(direct)) return undefined;
      const params = direct.call.params;
      if (!routesModern(body, params._meta!, params.name)) return undefined;
      const { controller, release } = callController(request);
      running.add(controller);
      try {
        const answer = await runDirectCall(served.mcp, direct, {
          signal: controller.signal,
          sessionId: undefined,
          request,
        });
        if (!("result" in answer)) return new Response(null, { status: 499 });
        return resultResponse(direct.call, answer.result, served.serverInfo);
      } finally {
        release();
        running.delete(controller);
      }
    },
    close() {
      for (const controller of running) controller.abort(new Error("server closing"));
    },
  };
}

/**
 * Whether the standard headers and the envelope of `body` (a `tools/call`) agree exactly: both
 * versions 2026-07-28, `Mcp-Method: tools/call`, `Mcp-Name` = `params.name`, client info and
 * capabilities present, JSON content and only known params. The SDK's classifier (which
 * validates the envelope) is asked last, through `routesModern`.
 */
function agrees(request: Request, body: Record<string, unknown>): boolean {
  const headers = request.headers;
  const protocolVersionHeader = headers.get("mcp-protocol-version");
  const mcpMethodHeader = headers.get("mcp-method");
  const mcpNameHeader = headers.get("mcp-name");
  const params = body.params;
  if (
    protocolVersionHeader !== MODERN || mcpMethodHeader !== "tools/call" ||
    !isJsonContentType(headers.get("content-type")) || !isRecord(params) ||
    typeof params.name !== "string" || mcpNameHeader !== params.name ||
    mcpNameHeader.startsWith("=?") || !Object.keys(params).every((key) => PARAM_KEYS.has(key))
  ) {
    return false;
  }
  const meta = params._meta;
  return isRecord(meta) && meta[PROTOCOL_VERSION_META_KEY] === MODERN &&
    isRecord(meta[CLIENT_INFO_META_KEY]) && isRecord(meta[CLIENT_CAPABILITIES_META_KEY]);
}

const modernChecked = new WeakMap<DefinedTool, boolean>();

/**
 * Whether the SDK would run `direct`'s tool straight to its result: no `Mcp-Param-*` header
 * declared in its input schema (checked against the request by the SDK), no scope challenge, no
 * output schema (validated and projected by the SDK).
 */
function modernQuiet(direct: { call: DirectCall; tool: DefinedTool }): boolean {
  const { tool } = direct;
  let quiet = modernChecked.get(tool);
  if (quiet === undefined) {
    const listed = toolDefinition(direct.call.params.name, tool.tool);
    quiet = tool.tool.scopeChallenge === undefined && tool.tool.outputSchema === undefined &&
      !JSON.stringify(listed.inputSchema).includes("x-mcp-header");
    modernChecked.set(tool, quiet);
  }
  return quiet;
}

/** The members of a `tools/call` result in the order of the SDK's result schema, the rest after. */
const RESULT_ORDER = ["_meta", "content", "structuredContent", "isError"];

/**
 * The SDK's JSON answer to `call` with `result`: members in the order its result schema (zod)
 * puts them, then `resultType` and the server identity stamped as its encoder does. Content
 * blocks are kept as the tool wrote them (`jsonResult`/`errorResult` write them in schema order).
 */
function resultResponse(call: DirectCall, result: unknown, serverInfo: unknown): Response {
  const written = result as Record<string, unknown>;
  let stamped: Record<string, unknown> = {};
  for (const key of RESULT_ORDER) if (key in written) stamped[key] = written[key];
  for (const key in written) if (!(key in stamped)) stamped[key] = written[key];
  if (stamped.resultType === undefined) stamped = { ...stamped, resultType: "complete" };
  const meta = stamped._meta;
  if (meta === undefined) {
    stamped = { ...stamped, _meta: { [SERVER_INFO_META_KEY]: serverInfo } };
  } else if (isRecord(meta) && meta[SERVER_INFO_META_KEY] === undefined) {
    stamped = { ...stamped, _meta: { ...meta, [SERVER_INFO_META_KEY]: serverInfo } };
  }
  return new Response(JSON.stringify({ result: stamped, jsonrpc: "2.0", id: call.id }), {
    headers: { "content-type": "application/json" },
  });
}

/** The identity the SDK stamps on its answers, from its answer to a `server/discover`. */
async function serverIdentity(sdk: SdkMcpHttpHandler): Promise<unknown> {
  const response = await sdk.fetch(
    new Request("http://localhost/mcp", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": "server/discover",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "server/discover",
        params: {
          _meta: {
            [PROTOCOL_VERSION_META_KEY]: MODERN,
            [CLIENT_INFO_META_KEY]: { name: "mcpcomm", version: "0" },
            [CLIENT_CAPABILITIES_META_KEY]: {},
          },
        },
      }),
    }),
  );
  const answer = await response.json();
  const serverInfo = answer?.result?._meta?.[SERVER_INFO_META_KEY];
  if (!isRecord(serverInfo)) throw new Error(`server/discover answered ${response.status}`);
  return serverInfo;
}
