/**
 * The upstream lists the gateway merges: each read into its entry (from the client's response
 * cache while the upstream's caching hint says it is fresh), and downstream told when one changed.
 * @module
 */
import type { CacheMode, Client } from "@modelcontextprotocol/client";
import type { GatewayCore, Upstream } from "./_gateway_core.ts";
import { LIST_KINDS, type ListKind, type Lists } from "./_session_pool.ts";

/**
 * Reads one list of the upstream into its entry: from the client's response cache when
 * `mode` is `use` and the upstream's hint says it is still fresh, else from the upstream.
 */
export async function load(
  core: GatewayCore,
  upstream: Lists,
  client: Client,
  kind: ListKind,
  mode: CacheMode = "use",
) {
  const caps = client.getServerCapabilities() ?? {};
  const options = { timeout: core.options.timeoutMs, cacheMode: mode };
  if (kind === "tools") {
    upstream.tools = caps.tools ? (await client.listTools(undefined, options)).tools : [];
  } else if (kind === "resources") {
    upstream.resources = caps.resources
      ? (await client.listResources(undefined, options)).resources
      : [];
  } else {
    upstream.prompts = caps.prompts ? (await client.listPrompts(undefined, options)).prompts : [];
  }
}

/** Sends `list_changed` downstream for each of the upstream's lists that changed since last told. */
export function publish(core: GatewayCore, upstream: Upstream): void {
  const changed = LIST_KINDS.filter((kind) => {
    const now = JSON.stringify(upstream[kind]);
    if (upstream.published[kind] === now) return false;
    upstream.published[kind] = now;
    return true;
  });
  if (changed.length) notify(core, ...changed);
}

/** Tells every listener and 2025-era session that these lists changed. */
export function notify(core: GatewayCore, ...kinds: ListKind[]): void {
  for (const listener of core.listeners) listener(kinds);
  for (const [mcp, seen] of core.servers) {
    if (seen.closed) continue;
    if (!mcp.isConnected()) {
      if (seen.connected) {
        core.servers.delete(mcp);
        core.pool.close(seen);
      }
      continue;
    }
    seen.connected = true;
    if (kinds.includes("tools")) mcp.sendToolListChanged();
    if (kinds.includes("resources")) mcp.sendResourceListChanged();
    if (kinds.includes("prompts")) mcp.sendPromptListChanged();
  }
}
