/**
 * The gateway's forwarded requests: tool calls (with progress, cancellation and resource links
 * rewritten into the namespace), resource reads, prompts and completion, each routed by its
 * namespaced name or URI to the owning upstream.
 * @module
 */
import {
  type CallToolResult,
  type Client,
  type CompleteRequest,
  type InputRequiredResult,
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
} from "@modelcontextprotocol/client";
import { describeError } from "../core/mod.ts";
import { errorResult } from "../mcp/mod.ts";
import {
  type GatewayCore,
  listsOf,
  unavailable,
  type Upstream,
  UpstreamUnavailableError,
} from "./_gateway_core.ts";
import {
  namespacedLinks,
  namespacedUri,
  ownerOf,
  resolveUri,
  toolTable,
} from "./_gateway_naming.ts";
import {
  callWithInput,
  featuredView,
  type Features,
  pendingCall,
  resume,
} from "./_gateway_input.ts";
import type { CallForwarding } from "./_gateway_pipeline.ts";
import { send } from "./_gateway_send.ts";
import { type GatewaySession, SessionLimitError } from "./_session_pool.ts";

/**
 * Calls a namespaced tool upstream, forwarding progress (when `extra` carries a progress
 * token) and cancellation (`extra.signal`). Resolves `undefined` when the name is not an
 * upstream tool. Upstream failures become tool errors naming the upstream. A 2026-07-28 client
 * offering client `features` gets the call on a connection of its own, and `input_required`
 * when the upstream asks for them (`./_gateway_input.ts`).
 */
export async function callTool(
  core: GatewayCore,
  name: string,
  args: Record<string, unknown> | undefined,
  extra: CallForwarding,
  session?: GatewaySession,
  features?: Features,
): Promise<CallToolResult | InputRequiredResult | undefined> {
  const view = session ?? (features ? await featuredView(core, features) : undefined);
  const entry = toolTable(core.upstreams, view).get(name);
  if (!entry) {
    const owner = ownerOf(core.upstreams, name);
    if (owner && owner.state !== "up") return errorResult(unavailable(owner));
    return undefined;
  }
  const { upstream, tool } = entry;
  const token = extra._meta?.progressToken;
  const run = (client: Client, signal: AbortSignal) =>
    client.callTool({ name: tool.name, arguments: args ?? {} }, {
      signal,
      timeout: core.options.timeoutMs,
      resetTimeoutOnProgress: true,
      ...(token !== undefined
        ? {
          onprogress: (
            p: { progress: number; total?: number | undefined; message?: string | undefined },
          ) => {
            extra.sendNotification({
              method: "notifications/progress",
              params: { progressToken: token, ...p },
            }).catch(() => {});
          },
        }
        : {}),
    }) as Promise<CallToolResult>;
  if (features && !session) {
    return await forwarded(
      upstream.name,
      tool.name,
      extra.signal,
      () => callWithInput(core, upstream, name, features, run, extra.signal, extra.caller ?? ""),
    );
  }
  const sendRequest = extra.sendRequest;
  if (session && sendRequest) session.calls.push(sendRequest);
  try {
    return await forwarded(
      upstream.name,
      tool.name,
      extra.signal,
      () => send(core, upstream, (client) => run(client, extra.signal), session),
    );
  } finally {
    if (session && sendRequest) session.calls.splice(session.calls.indexOf(sendRequest), 1);
  }
}

/**
 * A 2026-07-28 client's retry of a call held for its input (`requestState` is the token):
 * answers the upstream with `responses` and resolves the next round. Throws `-32602` for an
 * unknown or expired token.
 */
export async function resumeTool(
  core: GatewayCore,
  name: string,
  requestState: string,
  responses: Record<string, unknown> | undefined,
  signal: AbortSignal,
  caller: string,
): Promise<CallToolResult | InputRequiredResult> {
  const pending = pendingCall(core, requestState, name, caller);
  const tool = name.slice(pending.upstream.length + 1);
  return await forwarded(
    pending.upstream,
    tool,
    signal,
    () => resume(core, pending, responses, signal),
  );
}

/** A forwarded call's answer: links namespaced, failures as tool errors naming the upstream. */
async function forwarded(
  upstream: string,
  tool: string,
  signal: AbortSignal,
  call: () => Promise<CallToolResult | InputRequiredResult>,
): Promise<CallToolResult | InputRequiredResult> {
  try {
    const result = await call();
    return isInputRequiredResult(result) ? result : namespacedLinks(upstream, result);
  } catch (error) {
    if (signal.aborted) throw error;
    if (error instanceof UpstreamUnavailableError || error instanceof SessionLimitError) {
      return errorResult(error.message);
    }
    return errorResult(`Upstream ${upstream} failed on ${tool}: ${describeError(error)}`);
  }
}

/**
 * Reads a namespaced resource; `undefined` when `uri` is not one. An upstream that does not
 * know the resource answers with the spec's resource-not-found error, naming `uri`.
 */
export async function readResource(
  core: GatewayCore,
  uri: string,
  signal: AbortSignal,
  session?: GatewaySession,
) {
  const resolved = resolveUri(core.upstreams, uri);
  if (!resolved) return undefined;
  const { upstream, original } = resolved;
  let result: { contents: { uri: string }[] };
  try {
    result = await send<{ contents: { uri: string }[] }>(
      core,
      upstream,
      (client) =>
        client.readResource({ uri: original }, {
          signal,
          timeout: core.options.timeoutMs,
        }),
      session,
    );
  } catch (error) {
    if (isResourceNotFound(error)) throw new ResourceNotFoundError(uri);
    throw error;
  }
  return {
    ...result,
    contents: result.contents.map((c: { uri: string }) => ({
      ...c,
      uri: c.uri === original ? uri : namespacedUri(upstream.name, c.uri),
    })),
  };
}

/**
 * Forwards `completion/complete` to the upstream that owns the referenced prompt or resource
 * template, with its own name or URI; `undefined` when the reference is not an upstream's.
 */
export async function complete(
  core: GatewayCore,
  params: CompleteRequest["params"],
  signal: AbortSignal,
  session?: GatewaySession,
) {
  const ref = params.ref;
  let upstream: Upstream | undefined;
  let forwarded: CompleteRequest["params"]["ref"] | undefined;
  if (ref.type === "ref/prompt") {
    for (const candidate of core.upstreams.values()) {
      const prompt = listsOf(candidate, session).prompts.find((p) =>
        `${candidate.name}_${p.name}` === ref.name
      );
      if (prompt) {
        upstream = candidate;
        forwarded = { ...ref, name: prompt.name };
        break;
      }
    }
  } else {
    const resolved = resolveUri(core.upstreams, ref.uri);
    if (resolved) {
      upstream = resolved.upstream;
      forwarded = { ...ref, uri: resolved.original };
    }
  }
  if (!upstream || !forwarded) return undefined;
  const client = session?.ready.get(upstream.name)?.client ?? upstream.client;
  if (client && !client.getServerCapabilities()?.completions) {
    return { completion: { values: [] } };
  }
  const request = { ...params, ref: forwarded };
  return await send(
    core,
    upstream,
    (client) => client.complete(request, { signal, timeout: core.options.timeoutMs }),
    session,
  );
}

/** Gets a namespaced prompt; `undefined` when `name` is not one. */
export async function getPrompt(
  core: GatewayCore,
  name: string,
  args: Record<string, string> | undefined,
  signal: AbortSignal,
  session?: GatewaySession,
) {
  for (const upstream of core.upstreams.values()) {
    const prompts = listsOf(upstream, session).prompts;
    const prompt = prompts.find((p) => `${upstream.name}_${p.name}` === name);
    if (!prompt) continue;
    return await send(core, upstream, (client) =>
      client.getPrompt(
        { name: prompt.name, ...(args ? { arguments: args } : {}) },
        { signal, timeout: core.options.timeoutMs },
      ), session);
  }
  const owner = ownerOf(core.upstreams, name);
  if (owner && owner.state !== "up") throw new Error(unavailable(owner));
  return undefined;
}

/**
 * Whether an upstream's `resources/read` error says the resource does not exist: the v2 error,
 * or a bare `-32602`/`-32002` saying "not found" (the v1 SDK sends `data.uri`-less ones).
 */
function isResourceNotFound(error: unknown): boolean {
  if (error instanceof ResourceNotFoundError) return true;
  return error instanceof ProtocolError &&
    (error.code === ProtocolErrorCode.InvalidParams ||
      error.code === ProtocolErrorCode.ResourceNotFound) &&
    /not found/i.test(error.message);
}
