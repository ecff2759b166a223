/**
 * Authorization server metadata discovery (RFC 8414 and OpenID Connect Discovery): the
 * documents are fetched on first use, cached, fetched again after a failure, and their `issuer`
 * must equal the configured one (RFC 8414 section 3.3).
 * @module
 */
import { z } from "zod";

/** The metadata fields mcpcomm uses. */
export const AuthorizationServerMetadata = z.looseObject({
  issuer: z.string(),
  jwks_uri: z.string().optional(),
  token_endpoint: z.string().optional(),
  introspection_endpoint: z.string().optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
});
/** {@linkcode AuthorizationServerMetadata} after parsing. */
export type AuthorizationServerMetadata = z.infer<typeof AuthorizationServerMetadata>;

/** The authorization server could not be reached or sent an unusable document. */
export class DiscoveryError extends Error {
  override name = "DiscoveryError";
}

/** Where RFC 8414 and OpenID Connect Discovery put the metadata of `issuer`, in that order. */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, "");
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ].filter((u, i, all) => all.indexOf(u) === i);
}

function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

/**
 * Fetches the metadata of `issuer` from the first well-known location that answers 200;
 * throws {@linkcode DiscoveryError} naming the issuer otherwise.
 */
export async function discoverAuthorizationServer(
  issuer: string,
  fetchImpl: typeof fetch = fetch,
  timeoutMs = 10_000,
): Promise<AuthorizationServerMetadata> {
  const problems: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let response: Response;
    try {
      response = await fetchImpl(url, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      problems.push(`${url}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      problems.push(`${url}: HTTP ${response.status}`);
      continue;
    }
    const parsed = AuthorizationServerMetadata.safeParse(await response.json().catch(() => null));
    if (!parsed.success) throw new DiscoveryError(`${url} is not authorization server metadata`);
    if (!sameIssuer(parsed.data.issuer, issuer)) {
      throw new DiscoveryError(
        `${url} names issuer ${JSON.stringify(parsed.data.issuer)}, not ${JSON.stringify(issuer)}`,
      );
    }
    return parsed.data;
  }
  throw new DiscoveryError(`No metadata for the issuer ${issuer} (${problems.join("; ")})`);
}

/** {@linkcode discoverAuthorizationServer} once; a failure is not cached (the next call retries). */
export function cachedDiscovery(
  issuer: string,
  fetchImpl: typeof fetch = fetch,
): () => Promise<AuthorizationServerMetadata> {
  let pending: Promise<AuthorizationServerMetadata> | undefined;
  return () => {
    pending ??= discoverAuthorizationServer(issuer, fetchImpl).catch((error) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
