/**
 * Client-feature forwarding: what an upstream sends or asks on a session's own connection
 * (list changes, log messages, resource updates, sampling, elicitation, roots) reaches that
 * session's client, and its answer goes back.
 * @module
 */
import type { Client } from "@modelcontextprotocol/client";
import type { GatewayCore } from "./_gateway_core.ts";
import { load } from "./_gateway_lists.ts";
import { namespacedUri } from "./_gateway_naming.ts";
import {
  type ClientRequest,
  type GatewaySession,
  LIST_KINDS,
  type OwnConnection,
} from "./_session_pool.ts";

/** Relays what an upstream sends or asks on a session's own connection to that session. */
export function relay(
  core: GatewayCore,
  session: GatewaySession,
  upstream: string,
  own: OwnConnection,
  c: Client,
): void {
  const { mcp } = session;
  const downstream = mcp.server.getClientCapabilities() ?? {};
  const relay = (method: string) => (request: { params?: Record<string, unknown> }) =>
    toClient(session, { method, ...(request.params ? { params: request.params } : {}) });
  for (const kind of LIST_KINDS) {
    c.setNotificationHandler(`notifications/${kind}/list_changed`, async () => {
      await load(core, own, c, kind, "refresh").catch(() => {});
      if (session.closed || !mcp.isConnected()) return;
      if (kind === "tools") mcp.sendToolListChanged();
      if (kind === "resources") mcp.sendResourceListChanged();
      if (kind === "prompts") mcp.sendPromptListChanged();
    });
  }
  c.setNotificationHandler("notifications/message", (n) => {
    if (session.closed || !mcp.isConnected()) return;
    mcp.server.notification({ method: "notifications/message", params: n.params })
      .catch(() => {});
  });
  c.setNotificationHandler("notifications/resources/updated", (n) => {
    if (session.closed || !mcp.isConnected()) return;
    mcp.server.sendResourceUpdated({ ...n.params, uri: namespacedUri(upstream, n.params.uri) })
      .catch(() => {});
  });
  if (downstream.sampling) {
    c.setRequestHandler("sampling/createMessage", relay("sampling/createMessage") as never);
  }
  if (downstream.elicitation) {
    c.setRequestHandler("elicitation/create", relay("elicitation/create") as never);
  }
  if (downstream.roots) c.setRequestHandler("roots/list", relay("roots/list") as never);
}

/** Sends an upstream's request to the session's client: within its newest call, else on its own. */
async function toClient(session: GatewaySession, request: ClientRequest): Promise<unknown> {
  const send = session.calls.at(-1);
  if (send) return await send(request);
  const server = session.mcp.server;
  if (request.method === "roots/list") return await server.listRoots(request.params);
  if (request.method === "sampling/createMessage") {
    return await server.createMessage(request.params as never);
  }
  return await server.elicitInput(request.params as never);
}
