/**
 * Machine-to-machine OAuth for MCP upstreams (the gateway's and `mcpcomm client --config`'s):
 * the client-credentials grant with `client_secret_basic`, `client_secret_post` or
 * `private_key_jwt`, through the SDK's `auth()` so the authorization server is discovered from
 * the upstream's 401 (RFC 9728) unless `tokenUrl` names it. The token is kept until 60 s (at
 * most half its lifetime) before it expires, then renewed before the next request; a 401 gets one new token and one retry
 * (the SDK transports' rule). Credentials are mcpcomm's own: nothing a downstream client sent.
 * @module
 */
import {
  type AddClientAuthentication,
  auth,
  type AuthProvider,
  createPrivateKeyJwtAuth,
  extractWWWAuthenticateParams,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
  UnauthorizedError,
} from "@modelcontextprotocol/client";
import { createPrivateKey } from "node:crypto";
import type { ClientAuthMethod } from "./client_credentials.ts";

/** An upstream's client credentials, secrets already resolved. */
export interface MachineOAuthConfig {
  clientId: string;
  clientSecret?: string | undefined;
  /** PKCS#8 PEM private key, for `private_key_jwt`. */
  privateKeyPem?: string | undefined;
  authMethod: ClientAuthMethod;
  /** Space-separated scopes to request. */
  scope?: string | undefined;
  /** The authorization server the credentials belong to; tokens are asked of no other. */
  issuer?: string | undefined;
  /** The token endpoint, skipping discovery (then `issuer` defaults to its origin). */
  tokenUrl?: string | undefined;
  /** A token is renewed this long (at most half its lifetime) before it expires (default 60 s). */
  renewBeforeMs?: number;
}

/**
 * The JWS algorithm for a PEM private key (RS256, ES256, ES384 or EdDSA); another key type
 * throws what `unsupported` makes of it.
 */
export function signingAlgorithm(
  pem: string,
  unsupported: (type: string | undefined) => Error = (type) =>
    new Error(`unsupported private key type for private_key_jwt: ${type}`),
): string {
  const key = createPrivateKey(pem);
  const type = key.asymmetricKeyType;
  if (type === "rsa") return "RS256";
  if (type === "ed25519") return "EdDSA";
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1" || curve === "P-256") return "ES256";
    if (curve === "secp384r1" || curve === "P-384") return "ES384";
  }
  throw unsupported(type);
}

/** An `OAuthClientProvider` for the client-credentials grant, tokens held in memory. */
export class MachineOAuthProvider implements OAuthClientProvider {
  readonly #config: MachineOAuthConfig;
  readonly #authenticate: AddClientAuthentication;
  #tokens: StoredOAuthTokens | undefined;
  #renewAt = 0;
  #discovery: OAuthDiscoveryState | undefined;
  #pinned: string | undefined;
  /** Token requests made so far. */
  tokenRequests = 0;

  constructor(config: MachineOAuthConfig) {
    this.#config = config;
    if (config.authMethod === "private_key_jwt") {
      const pem = config.privateKeyPem ?? "";
      const jwt = createPrivateKeyJwtAuth({
        issuer: config.clientId,
        subject: config.clientId,
        privateKey: pem,
        alg: signingAlgorithm(pem),
      });
      this.#authenticate = (headers, params, url, metadata) => {
        this.tokenRequests++;
        return jwt(headers, params, url, metadata);
      };
    } else {
      this.#authenticate = (headers, params) => {
        this.tokenRequests++;
        if (config.authMethod === "client_secret_post") {
          params.set("client_id", config.clientId);
          params.set("client_secret", config.clientSecret ?? "");
        } else {
          const id = encodeURIComponent(config.clientId);
          const secret = encodeURIComponent(config.clientSecret ?? "");
          headers.set("authorization", `Basic ${btoa(`${id}:${secret}`)}`);
        }
      };
    }
    if (config.tokenUrl) {
      const issuer = config.issuer ?? new URL(config.tokenUrl).origin;
      this.#discovery = {
        authorizationServerUrl: issuer,
        authorizationServerMetadata: {
          issuer,
          token_endpoint: config.tokenUrl,
          authorization_endpoint: config.tokenUrl,
          response_types_supported: ["code"],
          grant_types_supported: ["client_credentials"],
          token_endpoint_auth_methods_supported: [config.authMethod],
        },
      };
    }
  }

  get redirectUrl(): undefined {
    return undefined;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "mcpcomm",
      redirect_uris: [],
      grant_types: ["client_credentials"],
      token_endpoint_auth_method: this.#config.authMethod,
      ...(this.#config.scope ? { scope: this.#config.scope } : {}),
    };
  }

  clientInformation(): StoredOAuthClientInformation {
    const issuer = this.#config.issuer ??
      (this.#config.tokenUrl ? this.#discovery?.authorizationServerUrl : this.#pinned);
    return {
      client_id: this.#config.clientId,
      ...(this.#config.clientSecret ? { client_secret: this.#config.clientSecret } : {}),
      ...(issuer ? { issuer } : {}),
    };
  }

  get addClientAuthentication(): AddClientAuthentication {
    return this.#authenticate;
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.#tokens;
  }

  /** Whether the held token is missing or due for renewal. */
  get stale(): boolean {
    return !this.#tokens || Date.now() >= this.#renewAt;
  }

  /**
   * Keeps the token; the first authorization server that issued one is the only one the
   * credentials go to from then on (the SDK refuses another with an issuer mismatch).
   */
  saveTokens(tokens: StoredOAuthTokens): void {
    this.#pinned ??= tokens.issuer;
    const lifetimeMs = (tokens.expires_in ?? 300) * 1000;
    const early = Math.min(this.#config.renewBeforeMs ?? 60_000, lifetimeMs / 2);
    this.#tokens = tokens;
    this.#renewAt = Date.now() + lifetimeMs - early;
  }

  redirectToAuthorization(): void {
    throw new UnauthorizedError("client credentials need no authorization redirect");
  }

  saveCodeVerifier(): void {}

  codeVerifier(): string {
    throw new UnauthorizedError("client credentials use no PKCE verifier");
  }

  prepareTokenRequest(scope?: string): URLSearchParams {
    const params = new URLSearchParams({ grant_type: "client_credentials" });
    const chosen = scope ?? this.#config.scope;
    if (chosen) params.set("scope", chosen);
    return params;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): void {
    if (scope === "all" || scope === "tokens") this.#tokens = undefined;
    if ((scope === "all" || scope === "discovery") && !this.#config.tokenUrl) {
      this.#discovery = undefined;
    }
  }
}

/**
 * The transport `authProvider` of an upstream: the token before each request (renewed first
 * when due), and on a 401 one new token through `auth()` before the transport's single retry.
 */
export function machineAuthProvider(provider: MachineOAuthProvider, serverUrl: URL): AuthProvider {
  let pending: Promise<void> | undefined;
  const renew = (
    options: { resourceMetadataUrl?: URL; scope?: string; fetchFn?: typeof fetch },
  ) => {
    pending ??= (async () => {
      provider.invalidateCredentials("tokens");
      const result = await auth(provider, { serverUrl, ...options });
      if (result !== "AUTHORIZED") throw new UnauthorizedError("no client-credentials token");
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  return {
    async token() {
      if (pending) await pending.catch(() => {});
      const tokens = provider.tokens();
      if (tokens && provider.stale && provider.discoveryState()) await renew({});
      return provider.tokens()?.access_token;
    },
    async onUnauthorized(ctx) {
      const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(ctx.response);
      await renew({
        ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}),
        ...(scope ? { scope } : {}),
        fetchFn: ctx.fetchFn as typeof fetch,
      });
    },
  };
}
