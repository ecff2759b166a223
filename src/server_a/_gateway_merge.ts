/**
 * The merged lists the gateway serves: each upstream list brought up to date before it is
 * served (once per upstream and list at a time, a session's own connection asked each time),
 * and the resource templates of every upstream, namespaced.
 * @module
 */
import type { ResourceTemplateType as ResourceTemplate } from "@modelcontextprotocol/client";
import { describeError } from "../core/mod.ts";
import type { GatewayCore } from "./_gateway_core.ts";
import { load, publish } from "./_gateway_lists.ts";
import { namespacedTemplate } from "./_gateway_naming.ts";
import { ownFor, send } from "./_gateway_send.ts";
import { type GatewaySession, type ListKind, SessionLimitError } from "./_session_pool.ts";

/**
 * Brings every connected upstream's `kind` list up to date before it is served downstream
 * (one request per upstream and list at a time); an upstream that fails keeps the list it had.
 */
export async function freshen(
  core: GatewayCore,
  kind: ListKind,
  session?: GatewaySession,
): Promise<void> {
  await Promise.all([...core.upstreams.values()].map(async (upstream) => {
    // A session's own upstream session is asked each time: its lists may change with no
    // list_changed yet received (a session resource made by the call just answered).
    const own = await ownFor(core, session, upstream).catch((error) => {
      if (error instanceof SessionLimitError) throw error;
      return undefined;
    });
    if (own) return await load(core, own, own.client, kind, "refresh").catch(() => {});
    const client = upstream.client;
    if (!client) return;
    upstream.loading[kind] ??= load(core, upstream, client, kind)
      .then(() => publish(core, upstream))
      .catch((error) =>
        core.options.log.warn("cannot refresh upstream list", {
          upstream: upstream.name,
          kind,
          error: describeError(error),
        })
      )
      .finally(() => delete upstream.loading[kind]);
    await upstream.loading[kind];
  }));
}

/**
 * The namespaced resource templates of every connected upstream, asked for each time: the
 * literal parts of a template are encoded as in {@linkcode resources}, its `{expressions}` kept.
 */
export async function resourceTemplates(
  core: GatewayCore,
  signal: AbortSignal,
  session?: GatewaySession,
): Promise<ResourceTemplate[]> {
  const lists = await Promise.all([...core.upstreams.values()].map(async (upstream) => {
    if (!upstream.client?.getServerCapabilities()?.resources) return [];
    try {
      const { resourceTemplates } = await send(
        core,
        upstream,
        (client) =>
          client.listResourceTemplates(undefined, {
            signal,
            timeout: core.options.timeoutMs,
            cacheMode: "refresh",
          }),
        session,
      );
      return resourceTemplates.map((t) => ({
        ...t,
        uriTemplate: namespacedTemplate(upstream.name, t.uriTemplate),
        name: `${upstream.name}_${t.name}`,
      }));
    } catch (error) {
      if (signal.aborted) throw error;
      core.options.log.warn("cannot list upstream resource templates", {
        upstream: upstream.name,
        error: describeError(error),
      });
      return [];
    }
  }));
  return lists.flat();
}
