/**
 * How the gateway sends a request to an upstream: on the session's own connection when it has or
 * needs one (stateful upstreams, client features, session state), else on the shared one, sent
 * once more when the connection was lost before the request reached it; and the session state
 * kept on those connections (log level, resource subscriptions).
 * @module
 */
import {
  type Client,
  type LoggingLevel,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
} from "@modelcontextprotocol/client";
import {
  type GatewayCore,
  unavailable,
  type Upstream,
  UpstreamUnavailableError,
} from "./_gateway_core.ts";
import { resolveUri } from "./_gateway_naming.ts";
import { lose, track } from "./_gateway_supervisor.ts";
import { unsentLoss } from "./_gateway_loss.ts";
import type { GatewaySession, OwnConnection } from "./_session_pool.ts";

/** Whether the session's client offers features an upstream can ask it for. */
function wantsOwn(session: GatewaySession): boolean {
  const caps = session.mcp.server.getClientCapabilities() ?? {};
  return caps.sampling !== undefined || caps.elicitation !== undefined ||
    caps.roots !== undefined;
}

/**
 * The session's own connection to `upstream`: the existing one, else a new one when the
 * upstream is stateful, when `needed` (session state) on a 2025-era one, or when the session's
 * client offers client features. `undefined` when the session shares the upstream's connection.
 * Throws {@linkcode SessionLimitError} when the upstream has no connection left for the
 * session, and {@linkcode UpstreamUnavailableError} when a stateful upstream is down: such a
 * session never falls back to the shared connection.
 */
export async function ownFor(
  core: GatewayCore,
  session: GatewaySession | undefined,
  upstream: Upstream,
  needed = false,
): Promise<OwnConnection | undefined> {
  if (!session || session.closed) return undefined;
  const existing = session.own.get(upstream.name);
  if (existing) return await existing;
  if (upstream.era === undefined) return undefined;
  const wanted = upstream.stateful || wantsOwn(session) ||
    (needed && upstream.era === "legacy");
  if (!wanted) return undefined;
  if (upstream.state !== "up") {
    if (!upstream.stateful || !(upstream.client ?? await upstream.recovery?.promise)) {
      throw new UpstreamUnavailableError(unavailable(upstream));
    }
  }
  return await core.pool.get(session, upstream.spec);
}

/**
 * Sends `request` to the upstream. When it fails because the session was lost before the
 * request reached it, waits for the one shared re-initialisation and sends it once more on the
 * new connection. Throws {@linkcode UpstreamUnavailableError} when there is no connection.
 */
export async function send<T>(
  core: GatewayCore,
  upstream: Upstream,
  request: (client: Client) => Promise<T>,
  session?: GatewaySession,
): Promise<T> {
  const own = await ownFor(core, session, upstream);
  if (own && session) {
    try {
      return await request(own.client);
    } catch (error) {
      const reason = unsentLoss(error);
      if (reason === undefined) throw error;
      core.pool.lose(session, upstream.spec, own, reason);
      const next = await ownFor(core, session, upstream);
      if (!next) throw new UpstreamUnavailableError(unavailable(upstream));
      core.options.log.info("request sent again on a re-opened session connection", {
        upstream: upstream.name,
        reason,
      });
      return await request(next.client);
    }
  }
  const client = upstream.client ?? await upstream.recovery?.promise;
  if (!client) throw new UpstreamUnavailableError(unavailable(upstream));
  try {
    return await track(core, client, request);
  } catch (error) {
    const reason = unsentLoss(error);
    if (reason === undefined) throw error;
    lose(core, upstream, client, reason);
    const next = upstream.client ?? await upstream.recovery?.promise;
    if (!next || next === client) {
      throw new UpstreamUnavailableError(unavailable(upstream));
    }
    core.options.log.info("request sent again after re-initialising", {
      upstream: upstream.name,
      reason,
    });
    return await track(core, next, request);
  }
}

/**
 * `logging/setLevel` from a session: sent on the session's own connection to every 2025-era
 * upstream that offers logging, so that their log messages reach that session only.
 */
export async function setLogLevel(
  core: GatewayCore,
  session: GatewaySession | undefined,
  level: LoggingLevel,
): Promise<void> {
  if (!session) return;
  session.logLevel = level;
  await Promise.all(
    [...core.upstreams.values()]
      .filter((u) => u.era === "legacy" && u.client?.getServerCapabilities()?.logging)
      .map(async (upstream) => {
        const own = await ownFor(core, session, upstream, true);
        await own?.client.setLoggingLevel(level);
      }),
  );
}

/**
 * `resources/subscribe` or `unsubscribe` from a session, on its own connection to the owning
 * upstream, so that `notifications/resources/updated` reach that session only. Throws
 * {@linkcode ResourceNotFoundError} for a URI outside the namespace.
 */
export async function subscription(
  core: GatewayCore,
  session: GatewaySession | undefined,
  uri: string,
  subscribe: boolean,
): Promise<void> {
  const resolved = resolveUri(core.upstreams, uri);
  if (!resolved || !session) throw new ResourceNotFoundError(uri);
  const { upstream, original } = resolved;
  if (upstream.era !== "legacy") {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Upstream ${upstream.name} speaks 2026-07-28: subscribe with subscriptions/listen`,
    );
  }
  if (!upstream.client?.getServerCapabilities()?.resources?.subscribe) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Upstream ${upstream.name} does not offer resource subscriptions`,
    );
  }
  const own = await ownFor(core, session, upstream, subscribe);
  if (!own) return;
  await send(core, upstream, async (client) => {
    if (subscribe) await client.subscribeResource({ uri: original });
    else await client.unsubscribeResource({ uri: original });
  }, session);
  const uris = session.subscriptions.get(upstream.name) ?? new Set<string>();
  if (subscribe) uris.add(original);
  else uris.delete(original);
  session.subscriptions.set(upstream.name, uris);
}
