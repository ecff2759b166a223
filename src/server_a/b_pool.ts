/**
 * The one factory of Server A's client to Server B: a plain client for one URL, a balanced one
 * (one attempt per Server B per try, failover between them) for several. Both report each retry
 * to `onRetry`, so the retry metric counts in both.
 * @module
 */
import type { Logger } from "../core/mod.ts";
import { type BalancerOptions, createBalancedServerBClient } from "./_balancer.ts";
import { createServerBClient, type ServerBClient } from "./_b_client.ts";
import { type ServerBOAuthOptions, serverBTokenSource } from "./_b_oauth.ts";

/** What Server A's client to Server B reads from the settings, and the hooks around it. */
export interface ServerBPoolOptions {
  /** `SERVER_B_URL`: one or more base URLs. */
  urls: readonly string[];
  /** Timeout of one attempt (`TIMEOUT_SECONDS`). */
  timeoutMs: number;
  /** Attempts in all (`RETRY_ATTEMPTS`). */
  attempts: number;
  /** Sent as `Authorization: Bearer <token>` (`MCPCOMM_AUTH_TOKEN`). */
  authToken?: string | undefined;
  /** OAuth client credentials, which win over `authToken` when their client id is set. */
  oauth?: ServerBOAuthOptions | undefined;
  /** PEM CA certificates trusted for Server B's HTTPS certificate (`SERVER_B_CA_CERT`). */
  caCerts?: string[] | undefined;
  /** Whether answers that are not streams use the HTTP/1.1 pool (default true; false behind a proxy). */
  http1?: boolean | undefined;
  log?: Logger | undefined;
  /** Called before each retry, with why (`refused`, `reset`, `http_503`, ...), e.g. to count it. */
  onRetry?: ((reason: string) => void) | undefined;
  /** Circuit breaker and health check tuning of a balanced client. */
  balancer?: Pick<BalancerOptions, "healthIntervalMs" | "openMs" | "failureThreshold"> | undefined;
}

/**
 * Creates the client to the Server B of `options.urls`, balanced when there are several.
 * @example
 * ```ts
 * const b = createServerBPool({ urls: ["http://b1:8000", "http://b2:8000"], timeoutMs: 120_000, attempts: 3 });
 * await b.process({ message: "hi" });
 * b.close();
 * ```
 */
export function createServerBPool(options: ServerBPoolOptions): ServerBClient {
  const { urls, oauth, balancer, ...common } = options;
  const client = { ...common, authorization: oauth ? serverBTokenSource(oauth) : undefined };
  if (urls.length === 1) return createServerBClient({ ...client, url: urls[0]! });
  return createBalancedServerBClient({
    backends: urls.map((url) => createServerBClient({ ...client, url, attempts: 1 })),
    attempts: options.attempts,
    deadlineMs: options.timeoutMs * options.attempts,
    log: options.log,
    onRetry: options.onRetry,
    ...balancer,
  });
}
