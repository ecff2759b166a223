/**
 * Client features for 2026-07-28 clients, which have no session: a call from a client that
 * offers sampling, elicitation or roots gets an upstream connection of its own declaring them.
 * What the upstream asks there is held and answered downstream with `input_required`; the
 * client's retry (the `requestState` token and its `inputResponses`) answers the upstream and
 * waits again. The lists such a client sees are those of a connection declaring its features.
 * @module
 */
import {
  type CallToolResult,
  type Client,
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  type InputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
} from "@modelcontextprotocol/client";
import { inputRequired } from "@modelcontextprotocol/server";
import { tokensMatch } from "../http/mod.ts";
import type { GatewayCore, ListView, Upstream } from "./_gateway_core.ts";
import { load } from "./_gateway_lists.ts";
import { LIST_KINDS, type Lists } from "./_session_pool.ts";

/** The client features an upstream may ask a client for. */
export type Features = Pick<ClientCapabilities, "sampling" | "elicitation" | "roots">;

/** How long the lists of a connection declaring client features are reused. */
const FEATURED_LISTS_TTL_MS = 60_000;

/** Lists of a connection declaring some client features, while fresh. */
export interface FeaturedLists {
  lists: Promise<Lists>;
  until: number;
  /** The upstream's shared tool list when these were read: a change drops them. */
  published: string;
}

/** One request an upstream sent on a call's connection, waiting for the client's answer. */
interface Asked {
  request: { method: string; params: Record<string, unknown> };
  resolve(result: unknown): void;
  reject(error: Error): void;
  /** Whether it went to the client in an `input_required` answer not yet retried. */
  sent: boolean;
}

/** A 2026-07-28 client's call held on its own upstream connection. */
export interface PendingCall {
  readonly token: string;
  readonly upstream: string;
  /** The namespaced tool, which the retry must name again. */
  readonly tool: string;
  /** The `Authorization` header of the call (empty without one): retries must carry it too. */
  readonly caller: string;
  readonly abort: AbortController;
  readonly asked: Map<string, Asked>;
  client?: Client;
  outcome?: Promise<{ result: CallToolResult } | { error: unknown }>;
  asks: number;
  ended: boolean;
  /** Set while a round waits: called when the upstream asks something. */
  wake?: (() => void) | undefined;
  timer?: ReturnType<typeof setTimeout>;
}

/** The client features a 2026-07-28 request's `_meta` envelope declares; `undefined` if none. */
export function featuresOf(envelope: object | undefined): Features | undefined {
  const caps = (envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as
    | ClientCapabilities
    | undefined;
  const features: Features = {
    ...(caps?.sampling ? { sampling: caps.sampling } : {}),
    ...(caps?.elicitation ? { elicitation: caps.elicitation } : {}),
    ...(caps?.roots ? { roots: caps.roots } : {}),
  };
  return Object.keys(features).length ? features : undefined;
}

/**
 * The lists a client with `features` sees: each connected upstream's as a connection declaring
 * those features gets them (read on a short-lived one, reused for a minute or until the
 * upstream's shared tool list changes); an upstream that cannot be asked keeps its shared lists.
 */
export async function featuredView(core: GatewayCore, features: Features): Promise<ListView> {
  const ready = new Map<string, Lists>();
  await Promise.all([...core.upstreams.values()].map(async (upstream) => {
    if (upstream.state !== "up") return;
    const lists = await featuredLists(core, upstream, features).catch(() => undefined);
    if (lists) ready.set(upstream.name, lists);
  }));
  return { ready };
}

function featuredLists(core: GatewayCore, upstream: Upstream, features: Features) {
  const key = `${upstream.name}\n${JSON.stringify(features)}`;
  const cached = core.featured.get(key);
  const published = upstream.published.tools;
  if (cached && cached.until > Date.now() && cached.published === published) return cached.lists;
  const lists = (async () => {
    const client = await core.pool.openForCall(upstream.spec, features, () => {});
    try {
      const lists: Lists = { tools: [], resources: [], prompts: [] };
      for (const kind of LIST_KINDS) await load(core, lists, client, kind, "refresh");
      return lists;
    } finally {
      await core.pool.closeForCall(upstream.name, client);
    }
  })();
  const entry = { lists, until: Date.now() + FEATURED_LISTS_TTL_MS, published };
  core.featured.set(key, entry);
  lists.catch(() => core.featured.get(key) === entry && core.featured.delete(key));
  return lists;
}

/**
 * Starts a call on a connection of its own declaring `features` and answers its first round:
 * the result, or `input_required` with what the upstream asked. Throws
 * {@linkcode SessionLimitError} when the upstream has no connection left.
 */
export async function callWithInput(
  core: GatewayCore,
  upstream: Upstream,
  tool: string,
  features: Features,
  run: (client: Client, signal: AbortSignal) => Promise<CallToolResult>,
  signal: AbortSignal,
  caller: string,
): Promise<CallToolResult | InputRequiredResult> {
  const pending: PendingCall = {
    token: crypto.randomUUID(),
    upstream: upstream.name,
    tool,
    caller,
    abort: new AbortController(),
    asked: new Map(),
    asks: 0,
    ended: false,
  };
  const client = await core.pool.openForCall(upstream.spec, features, (c) => hold(c, pending));
  pending.client = client;
  core.inputs.set(pending.token, pending);
  pending.outcome = run(client, pending.abort.signal).then(
    (result) => ({ result }),
    (error) => ({ error }),
  );
  return await round(core, pending, signal);
}

/**
 * The call a retry's `requestState` names. Throws `-32602` when there is none (unknown,
 * expired, ended, held for another tool, or started by another caller: the same answer, so a
 * token seen by someone else tells them nothing) or another retry of it is being answered.
 */
export function pendingCall(
  core: GatewayCore,
  token: string,
  tool: string,
  caller: string,
): PendingCall {
  const pending = core.inputs.get(token);
  if (!pending || pending.tool !== tool || !tokensMatch(caller, pending.caller)) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Unknown or expired requestState for ${tool}: no call is waiting for input under it ` +
        `(it ended, or waited more than ${Math.ceil(core.options.timeoutMs / 1000)}s); ` +
        "call the tool again",
    );
  }
  if (pending.wake) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `requestState for ${tool} is already being answered by another retry`,
    );
  }
  return pending;
}

/**
 * Answers what the upstream asked with the retry's `inputResponses` (a request left unanswered
 * is asked again) and waits for the next round.
 */
export async function resume(
  core: GatewayCore,
  pending: PendingCall,
  responses: Record<string, unknown> | undefined,
  signal: AbortSignal,
): Promise<CallToolResult | InputRequiredResult> {
  for (const [key, asked] of pending.asked) {
    if (!asked.sent) continue;
    const response = responses?.[key];
    asked.sent = false;
    if (response === undefined) continue;
    pending.asked.delete(key);
    asked.resolve(response);
  }
  return await round(core, pending, signal);
}

/** Ends every held call (the gateway is closing). */
export function endAll(core: GatewayCore): void {
  for (const pending of core.inputs.values()) end(core, pending);
}

/** Holds the upstream's requests for client features on a call's connection. */
function hold(client: Client, pending: PendingCall): void {
  const park = (method: string) => (request: { params?: Record<string, unknown> }) =>
    new Promise((resolve, reject) => {
      if (pending.ended) return reject(new Error("the call ended"));
      const key = `${method.split("/")[0]}-${++pending.asks}`;
      pending.asked.set(key, {
        request: { method, params: request.params ?? {} },
        resolve,
        reject,
        sent: false,
      });
      pending.wake?.();
    });
  for (const method of ["sampling/createMessage", "elicitation/create", "roots/list"] as const) {
    client.setRequestHandler(method, park(method) as never);
  }
}

/** Waits for the call's result or for the upstream to ask something, whichever comes first. */
async function round(
  core: GatewayCore,
  pending: PendingCall,
  signal: AbortSignal,
): Promise<CallToolResult | InputRequiredResult> {
  clearTimeout(pending.timer);
  const cancel = () => end(core, pending);
  signal.addEventListener("abort", cancel, { once: true });
  try {
    const wanted = new Promise<"input">((resolve) => {
      pending.wake = () => resolve("input");
      if (unsent(pending).length) resolve("input");
    });
    const first = await Promise.race([pending.outcome!, wanted]);
    if (first !== "input") {
      end(core, pending);
      if ("error" in first) throw first.error;
      return first.result;
    }
    const inputRequests = Object.fromEntries(
      unsent(pending).map(([key, asked]) => {
        asked.sent = true;
        return [key, asked.request];
      }),
    );
    const timer = setTimeout(() => end(core, pending), core.options.timeoutMs);
    Deno.unrefTimer(timer);
    pending.timer = timer;
    return inputRequired({ inputRequests: inputRequests as never, requestState: pending.token });
  } finally {
    signal.removeEventListener("abort", cancel);
    pending.wake = undefined;
  }
}

function unsent(pending: PendingCall): [string, Asked][] {
  return [...pending.asked].filter(([, asked]) => !asked.sent);
}

/** Frees a held call: cancels it upstream if still running and closes its connection. */
function end(core: GatewayCore, pending: PendingCall): void {
  if (pending.ended) return;
  pending.ended = true;
  clearTimeout(pending.timer);
  core.inputs.delete(pending.token);
  pending.abort.abort(new Error("the call ended"));
  for (const asked of pending.asked.values()) asked.reject(new Error("the call ended"));
  pending.asked.clear();
  if (pending.client) void core.pool.closeForCall(pending.upstream, pending.client);
}
