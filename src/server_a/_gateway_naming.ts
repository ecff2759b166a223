/**
 * The gateway's namespace: `NAME_tool`, `NAME_prompt` and `upstream://NAME/<encoded uri>`,
 * reversible (each namespaced name or URI has one owner) and unique across upstreams.
 * @module
 */
import type { CallToolResult, Prompt, Resource, Tool } from "@modelcontextprotocol/client";
import { UsageError } from "../core/mod.ts";
import type { NamedTarget } from "../mcp/mod.ts";
import { listsOf, type ListView, type Upstream } from "./_gateway_core.ts";

/** The gateway's upstreams by name. */
type Upstreams = ReadonlyMap<string, Upstream>;

/** Scheme of namespaced upstream resource URIs: `upstream://NAME/<encodeURIComponent(uri)>`. */
export const UPSTREAM_URI_PREFIX = "upstream://";

/**
 * Throws {@linkcode UsageError} when one upstream's name followed by `_` begins another's
 * (`a` and `a_b`): `a_b_x` could then be `a`'s `b_x` or `a_b`'s `x`. Without such pairs every
 * namespaced name has exactly one owner.
 */
export function assertDistinctNames(upstreams: readonly NamedTarget[]): void {
  for (const a of upstreams) {
    const clash = upstreams.find((b) => b.name.startsWith(`${a.name}_`));
    if (clash) {
      throw new UsageError(
        `Upstream names "${a.name}" and "${clash.name}" clash: "${a.name}_" begins both ` +
          "namespaced names; rename one (e.g. with '-' instead of '_')",
      );
    }
  }
}

/**
 * Every namespaced tool with the upstream and original name it stands for. A tool that can
 * only run as a task (`execution.taskSupport: "required"`) is left out: the gateway does not
 * offer the tasks capability, so no downstream client could call it.
 */
export function toolTable(
  upstreams: Upstreams,
  session?: ListView,
): Map<string, { upstream: Upstream; tool: Tool }> {
  const table = new Map<string, { upstream: Upstream; tool: Tool }>();
  for (const upstream of upstreams.values()) {
    for (const tool of listsOf(upstream, session).tools) {
      if (tool.execution?.taskSupport === "required") continue;
      const name = `${upstream.name}_${tool.name}`;
      if (!table.has(name)) table.set(name, { upstream, tool });
    }
  }
  return table;
}

/** The namespaced tools, as `tools/list` shows them. */
export function namespacedTools(upstreams: Upstreams, session?: ListView): Tool[] {
  return [...toolTable(upstreams, session)].map(([name, { upstream, tool }]) => ({
    ...tool,
    name,
    description: `[${upstream.name}] ${tool.description ?? tool.name}`,
  }));
}

/** The namespaced resources. */
export function namespacedResources(upstreams: Upstreams, session?: ListView): Resource[] {
  return [...upstreams.values()].flatMap((upstream) =>
    listsOf(upstream, session).resources.map((r) => ({
      ...r,
      uri: namespacedUri(upstream.name, r.uri),
      name: `${upstream.name}_${r.name}`,
    }))
  );
}

/** The namespaced prompts. */
export function namespacedPrompts(upstreams: Upstreams, session?: ListView): Prompt[] {
  return [...upstreams.values()].flatMap((upstream) =>
    listsOf(upstream, session).prompts.map((p) => ({
      ...p,
      name: `${upstream.name}_${p.name}`,
      description: `[${upstream.name}] ${p.description ?? p.name}`,
    }))
  );
}

/** Finds the upstream a namespaced name belongs to (up or down). */
export function ownerOf(upstreams: Upstreams, name: string): Upstream | undefined {
  let best: Upstream | undefined;
  for (const upstream of upstreams.values()) {
    if (
      name.startsWith(`${upstream.name}_`) && upstream.name.length > (best?.name.length ?? -1)
    ) {
      best = upstream;
    }
  }
  return best;
}

/** The upstream and its own URI behind a namespaced URI (or template), if it is one. */
export function resolveUri(
  upstreams: Upstreams,
  uri: string,
): { upstream: Upstream; original: string } | undefined {
  if (!uri.startsWith(UPSTREAM_URI_PREFIX)) return undefined;
  const rest = uri.slice(UPSTREAM_URI_PREFIX.length);
  const slash = rest.indexOf("/");
  const upstream = slash < 0 ? undefined : upstreams.get(rest.slice(0, slash));
  if (!upstream) return undefined;
  try {
    return { upstream, original: decodeURIComponent(rest.slice(slash + 1)) };
  } catch {
    return undefined;
  }
}

/** An upstream's resource URI in the gateway's namespace. */
export function namespacedUri(upstream: string, uri: string): string {
  return `${UPSTREAM_URI_PREFIX}${upstream}/${encodeURIComponent(uri)}`;
}

/**
 * An upstream's URI template in the gateway's namespace: literal parts encoded as
 * {@linkcode namespacedUri} encodes a URI, `{expressions}` kept, so that a template expanded
 * with a plain value is the namespaced form of the URI the upstream's template gives.
 */
export function namespacedTemplate(upstream: string, template: string): string {
  const parts = template.split(/(\{[^}]*\})/);
  const encoded = parts.map((part) => part.startsWith("{") ? part : encodeURIComponent(part));
  return `${UPSTREAM_URI_PREFIX}${upstream}/${encoded.join("")}`;
}

/** A tool result whose resource links and embedded resources point into the gateway's namespace. */
export function namespacedLinks(upstream: string, result: CallToolResult): CallToolResult {
  if (!Array.isArray(result.content)) return result;
  return {
    ...result,
    content: result.content.map((item) => {
      if (item.type === "resource_link") return { ...item, uri: namespacedUri(upstream, item.uri) };
      if (item.type === "resource") {
        return {
          ...item,
          resource: { ...item.resource, uri: namespacedUri(upstream, item.resource.uri) },
        };
      }
      return item;
    }),
  };
}
