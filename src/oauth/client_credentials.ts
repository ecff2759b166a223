/**
 * Machine-to-machine access tokens (OAuth 2.1 client-credentials grant) for Server A's calls to
 * Server B: client authentication by `client_secret_basic`, `client_secret_post` or
 * `private_key_jwt` (RFC 7523, signed with `jose`), the RFC 8707 `resource` of Server B, the
 * token cached until 60 s before it expires, one token request in flight at a time.
 * @module
 */
import { z } from "zod";
import { cachedDiscovery } from "./_discovery.ts";
import { signingAlgorithm } from "./machine.ts";

/** How the client authenticates at the token endpoint. */
export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "private_key_jwt";

/** What {@linkcode createClientCredentialsSource} needs. */
export interface ClientCredentialsOptions {
  /** The token endpoint; else discovered from `issuer`. */
  tokenUrl?: string | undefined;
  issuer?: string | undefined;
  clientId: string;
  clientSecret?: string | undefined;
  /** PKCS#8 PEM private key (RSA, EC P-256/P-384 or Ed25519), for `private_key_jwt`. */
  privateKeyPem?: string | undefined;
  method: ClientAuthMethod;
  /** Space-separated scopes to request. */
  scope?: string | undefined;
  /** RFC 8707 resource indicator (the audience asked for). */
  resource?: string | undefined;
  /** A cached token is renewed this long before it expires (default 60 s). */
  renewBeforeMs?: number;
  fetch?: typeof fetch;
}

/** A token request failed: the message names the endpoint and the server's `error`, never secrets. */
export class TokenRequestError extends Error {
  override name = "TokenRequestError";
}

/** Where `Authorization` headers come from. */
export interface TokenSource {
  /**
   * `Bearer <access token>`, from the cache while it is fresh; `renew` forces a new token unless
   * one newer than `stale` (the header that was refused) is already there.
   */
  authorization(renew?: { stale: string }): Promise<string>;
  /** Token requests sent so far. */
  readonly requests: number;
}

const TokenResponse = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.coerce.number().positive().optional(),
});

function signingAlg(pem: string): string {
  return signingAlgorithm(
    pem,
    (type) => new TokenRequestError(`Unsupported private key type for private_key_jwt: ${type}`),
  );
}

/** Creates the token source; nothing is requested before the first `authorization()`. */
export function createClientCredentialsSource(options: ClientCredentialsOptions): TokenSource {
  const fetchImpl = options.fetch ?? fetch;
  const renewBeforeMs = options.renewBeforeMs ?? 60_000;
  const discover = options.issuer ? cachedDiscovery(options.issuer, fetchImpl) : undefined;
  let cached: { header: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let requests = 0;
  const signer = options.privateKeyPem
    ? (() => {
      const alg = signingAlg(options.privateKeyPem);
      const pem = options.privateKeyPem;
      return { alg, key: import("jose").then(({ importPKCS8 }) => importPKCS8(pem, alg)) };
    })()
    : undefined;

  const tokenUrl = async (): Promise<string> => {
    if (options.tokenUrl) return options.tokenUrl;
    const metadata = await discover!();
    if (!metadata.token_endpoint) {
      throw new TokenRequestError(`The issuer ${options.issuer} has no token_endpoint`);
    }
    return metadata.token_endpoint;
  };

  const request = async (): Promise<string> => {
    const url = await tokenUrl();
    const body = new URLSearchParams({ grant_type: "client_credentials" });
    if (options.scope) body.set("scope", options.scope);
    if (options.resource) body.set("resource", options.resource);
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    };
    if (options.method === "client_secret_basic") {
      const id = encodeURIComponent(options.clientId);
      const secret = encodeURIComponent(options.clientSecret ?? "");
      headers.authorization = `Basic ${btoa(`${id}:${secret}`)}`;
    } else if (options.method === "client_secret_post") {
      body.set("client_id", options.clientId);
      body.set("client_secret", options.clientSecret ?? "");
    } else {
      if (!signer) throw new TokenRequestError("private_key_jwt needs a private key");
      const { SignJWT } = await import("jose");
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: signer.alg })
        .setIssuer(options.clientId)
        .setSubject(options.clientId)
        .setAudience(url)
        .setJti(crypto.randomUUID())
        .setIssuedAt()
        .setExpirationTime("60s")
        .sign(await signer.key);
      body.set("client_id", options.clientId);
      body.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      body.set("client_assertion", assertion);
    }
    requests++;
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new TokenRequestError(
        `The token endpoint ${url} could not be reached (${
          error instanceof Error ? error.message : error
        })`,
      );
    }
    const json = await response.json().catch(() => undefined);
    if (!response.ok) {
      const said = typeof json?.error === "string"
        ? `${json.error}${
          typeof json.error_description === "string" ? `: ${json.error_description}` : ""
        }`
        : `HTTP ${response.status}`;
      throw new TokenRequestError(
        `The token endpoint ${url} refused the client credentials (${said})`,
      );
    }
    const parsed = TokenResponse.safeParse(json);
    if (!parsed.success || parsed.data.token_type.toLowerCase() !== "bearer") {
      throw new TokenRequestError(`The token endpoint ${url} sent no bearer access token`);
    }
    const lifetimeMs = (parsed.data.expires_in ?? 300) * 1000;
    const header = `Bearer ${parsed.data.access_token}`;
    cached = { header, renewAt: Date.now() + Math.max(0, lifetimeMs - renewBeforeMs) };
    return header;
  };

  return {
    authorization(renew) {
      if (cached && (renew ? cached.header !== renew.stale : Date.now() < cached.renewAt)) {
        return Promise.resolve(cached.header);
      }
      pending ??= request().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    get requests() {
      return requests;
    },
  };
}
