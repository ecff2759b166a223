/**
 * The gateway's supervisor: keeps each upstream connected (with backoff, without holding up the
 * others), re-initialises at once a connection found lost (one new session however many calls
 * noticed it), and closes a lost connection after its requests in flight.
 * @module
 */
import { type Client, MAX_CACHE_TTL_MS, SseError } from "@modelcontextprotocol/client";
import { delay, describeError, withRetries } from "../core/mod.ts";
import { connectTarget, describeTarget, disconnect, protocolOf } from "../mcp/mod.ts";
import type { GatewayCore, Upstream } from "./_gateway_core.ts";
import { load, publish } from "./_gateway_lists.ts";
import { keepsSessionState, unsentLoss } from "./_gateway_loss.ts";
import type { ListKind } from "./_session_pool.ts";

/** Starts connecting every upstream in the background; returns at once. */
export function startAll(core: GatewayCore): void {
  for (const upstream of core.upstreams.values()) {
    maintain(core, upstream).catch((error) =>
      core.options.log.error("upstream loop failed", {
        upstream: upstream.name,
        error: describeError(error),
      })
    );
  }
}

/** Disconnects every upstream and stops reconnecting. */
export async function closeAll(core: GatewayCore): Promise<void> {
  core.stop.abort(new Error("gateway closed"));
  await Promise.all([...core.upstreams.values()].map(async (u) => {
    u.state = "closed";
    u.settled.resolve();
    recovered(u, undefined);
    if (u.client) await disconnect(u.client);
  }));
}

/**
 * Keeps one upstream connected: connects with backoff, and when the connection is lost
 * re-initialises at once (the callers that found it lost wait for that), falling back to the
 * backoff when the upstream does not answer.
 */
async function maintain(core: GatewayCore, upstream: Upstream): Promise<void> {
  const { log } = core.options;
  const signal = core.stop.signal;
  const baseDelayMs = core.options.baseDelayMs ?? 500;
  let client: Client | undefined;
  let failedBefore = 0;
  while (!signal.aborted) {
    if (!client) {
      try {
        client = await withRetries(() => connect(core, upstream), {
          attempts: Number.POSITIVE_INFINITY,
          deadline: Number.POSITIVE_INFINITY,
          baseDelayMs,
          maxDelayMs: core.options.maxDelayMs ?? 30_000,
          classify: () => ({ retry: !signal.aborted }),
          onRetry: (error, attempt, delayMs) => {
            upstream.state = "down";
            upstream.failures = failedBefore + attempt;
            upstream.lastError = describeError(error);
            upstream.nextRetryAt = Date.now() + delayMs;
            upstream.settled.resolve();
            log.warn("upstream unavailable, retrying", {
              upstream: upstream.name,
              target: describeTarget(upstream.spec.target),
              attempt: upstream.failures,
              retryInMs: delayMs,
              error: upstream.lastError,
            });
          },
          signal,
        });
      } catch {
        recovered(upstream, undefined);
        return;
      }
    }
    const current = client;
    const lost = Promise.withResolvers<string>();
    upstream.lost = lost;
    current.onclose = () => lose(core, upstream, current, "the connection closed");
    core.subscriptions.get(current)?.closed.then((how) => {
      if (how !== "local") {
        lose(core, upstream, current, `the subscriptions/listen stream ended (${how})`);
      }
    });
    current.onerror = (error: unknown) => {
      if (error instanceof SseError) {
        lose(core, upstream, current, `the SSE stream broke: ${describeError(error)}`);
      } else {
        const reason = unsentLoss(error);
        if (reason) lose(core, upstream, current, reason);
      }
    };
    upstream.client = current;
    upstream.era = protocolOf(current).era;
    upstream.stateful = upstream.era === "legacy" && keepsSessionState(current);
    upstream.state = "up";
    upstream.failures = 0;
    failedBefore = 0;
    upstream.connections++;
    upstream.connectedAt = Date.now();
    delete upstream.lastError;
    upstream.settled.resolve();
    log.info(upstream.connections === 1 ? "upstream connected" : "upstream reconnected", {
      upstream: upstream.name,
      target: describeTarget(upstream.spec.target),
      protocol: protocolOf(current).revision,
      tools: upstream.tools.length,
      resources: upstream.resources.length,
      prompts: upstream.prompts.length,
    });
    publish(core, upstream);
    recovered(upstream, current);
    const stopped = () => lost.resolve("gateway closed");
    signal.addEventListener("abort", stopped, { once: true });
    const reason = await lost.promise;
    signal.removeEventListener("abort", stopped);
    if (signal.aborted) return;
    log.warn("upstream lost, re-initialising", { upstream: upstream.name, reason });
    // A connection that is lost as soon as it is made is not re-made in a tight loop.
    if (Date.now() - upstream.connectedAt < baseDelayMs) {
      await delay(baseDelayMs, signal).catch(() => {});
      if (signal.aborted) return;
    }
    try {
      client = await connect(core, upstream);
    } catch (error) {
      client = undefined;
      failedBefore = 1;
      upstream.state = "down";
      upstream.failures = 1;
      upstream.lastError = describeError(error);
      upstream.nextRetryAt = Date.now() + baseDelayMs;
      upstream.tools = [];
      upstream.resources = [];
      upstream.prompts = [];
      log.warn("upstream unavailable, retrying", {
        upstream: upstream.name,
        target: describeTarget(upstream.spec.target),
        attempt: 1,
        retryInMs: baseDelayMs,
        error: upstream.lastError,
      });
      publish(core, upstream);
      recovered(upstream, undefined);
      await delay(baseDelayMs, signal).catch(() => {});
    }
  }
}

/**
 * Marks the upstream down because `client`'s connection was lost, which wakes its supervisor
 * to re-initialise; a no-op when `client` is not the current connection (single flight). The
 * old client is closed once its requests in flight have settled.
 */
export function lose(core: GatewayCore, upstream: Upstream, client: Client, reason: string): void {
  if (upstream.client !== client || core.stop.signal.aborted) return;
  delete upstream.client;
  upstream.state = "down";
  upstream.lastError = reason;
  upstream.recovery = Promise.withResolvers<Client | undefined>();
  upstream.lost?.resolve(reason);
  retire(core, client);
}

/** Ends a re-initialisation: callers waiting for it get the new client or `undefined`. */
export function recovered(upstream: Upstream, client: Client | undefined): void {
  upstream.recovery?.resolve(client);
  delete upstream.recovery;
}

/** Runs `request` on `client`, counting it in flight so that a retired client closes after it. */
export async function track<T>(
  core: GatewayCore,
  client: Client,
  request: (client: Client) => Promise<T>,
): Promise<T> {
  const use = core.inFlight.get(client) ?? { requests: 0, retired: false };
  core.inFlight.set(client, use);
  use.requests++;
  try {
    return await request(client);
  } finally {
    if (--use.requests === 0 && use.retired) client.close().catch(() => {});
  }
}

/** Closes a lost connection once its requests in flight have settled. */
function retire(core: GatewayCore, client: Client): void {
  const use = core.inFlight.get(client) ?? { requests: 0, retired: false };
  core.inFlight.set(client, use);
  use.retired = true;
  if (use.requests === 0) client.close().catch(() => {});
}

/** Connects to the upstream and loads its lists, following their changes. */
async function connect(core: GatewayCore, upstream: Upstream): Promise<Client> {
  upstream.state = upstream.failures === 0 ? "connecting" : "down";
  const client = await connectTarget(upstream.spec.target, {
    clientName: `mcpcomm-gateway-${upstream.name}`,
    version: core.options.version,
    childEnv: core.options.childEnv,
    timeoutMs: core.options.connectTimeoutMs ?? 15_000,
    // A list without a ttlMs hint stays fresh until the upstream says it changed.
    client: { defaultCacheTtlMs: MAX_CACHE_TTL_MS },
    setup: (c) => {
      c.setNotificationHandler(
        "notifications/tools/list_changed",
        () => refresh(core, upstream, c, "tools"),
      );
      c.setNotificationHandler(
        "notifications/resources/list_changed",
        () => refresh(core, upstream, c, "resources"),
      );
      c.setNotificationHandler(
        "notifications/prompts/list_changed",
        () => refresh(core, upstream, c, "prompts"),
      );
    },
  });
  try {
    await listen(core, client);
    await load(core, upstream, client, "tools");
    await load(core, upstream, client, "resources");
    await load(core, upstream, client, "prompts");
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
  return client;
}

/**
 * On a 2026-07-28 connection, opens the `subscriptions/listen` stream for the lists the
 * upstream says can change (2025-era servers send those notifications unasked).
 */
async function listen(core: GatewayCore, client: Client): Promise<void> {
  if (client.getProtocolEra() !== "modern") return;
  const caps = client.getServerCapabilities() ?? {};
  const filter = {
    ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
    ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
    ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
  };
  if (Object.keys(filter).length === 0) return;
  core.subscriptions.set(
    client,
    await client.listen(filter, { timeout: core.options.connectTimeoutMs ?? 15_000 }),
  );
}

/** Reads a list again after the upstream said it changed, and passes the change on. */
async function refresh(core: GatewayCore, upstream: Upstream, client: Client, kind: ListKind) {
  if (upstream.client !== client) return;
  try {
    await load(core, upstream, client, kind, "refresh");
    core.options.log.info("upstream list changed", { upstream: upstream.name, kind });
    publish(core, upstream);
  } catch (error) {
    core.options.log.warn("cannot refresh upstream list", {
      upstream: upstream.name,
      kind,
      error: describeError(error),
    });
  }
}
