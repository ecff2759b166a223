/**
 * A real OpenID provider for the tests: `oidc-provider` (a certified implementation) on a free
 * loopback port, with the client-credentials grant, resource indicators (RFC 8707: access tokens
 * are JWTs whose audience is the requested resource) and introspection (RFC 7662). `rotate()`
 * replaces the signing key (the JWKS then lists only the new one); every token request is counted.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider from "oidc-provider";

/** A client registered at the provider. */
export interface FakeClient {
  id: string;
  secret?: string;
}

/** What {@linkcode startOidcProvider} serves. */
export interface OidcProviderOptions {
  /** The resource indicator used when a token request names none. */
  defaultResource: string;
  /** Scopes a resource server may be granted (default `mcp`, `ai`, `other`). */
  scopes?: string[];
  /** Lifetime of access tokens in seconds (default 3600). */
  accessTokenTtl?: number;
  /**
   * Also the interactive flow: dynamic client registration, the authorization code with PKCE
   * and refresh tokens, every authorization approved at once for user `ada` (no login page).
   */
  authorizationCode?: boolean;
}

/** A running provider. */
export interface OidcProvider extends AsyncDisposable {
  /** The issuer URL (no trailing slash). */
  issuer: string;
  tokenUrl: string;
  /** `client_secret_basic` client `server-a`. */
  basic: Required<FakeClient>;
  /** `client_secret_post` client `server-a-post`. */
  post: Required<FakeClient>;
  /** `private_key_jwt` client `server-a-jwt`; its private key as PKCS#8 PEM. */
  privateKeyJwt: FakeClient & { privateKeyPem: string };
  /** Client whose tokens live 1 second (for the expiry tests). */
  shortLived: Required<FakeClient>;
  /** Client whose access tokens are opaque (introspection). */
  opaque: Required<FakeClient>;
  /** Client the resource server uses to introspect. */
  introspector: Required<FakeClient>;
  /** Token requests received at the token endpoint. */
  readonly tokenRequests: number;
  /** Authorization requests and dynamic registrations received. */
  readonly authorizations: number;
  readonly registrations: number;
  /** Replaces the signing key; tokens signed before are no longer verifiable. */
  rotate(): Promise<void>;
  /** Gets an access token through the client-credentials grant. */
  token(client: FakeClient, params?: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

/** Finishes a login or consent interaction at once: user `ada`, every scope asked for. */
async function approve(provider: Provider, req: IncomingMessage, res: ServerResponse) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === "login") {
    await provider.interactionFinished(req, res, { login: { accountId: "ada" } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  const grant = details.grantId
    ? (await provider.Grant.find(details.grantId))!
    : new provider.Grant({
      accountId: details.session!.accountId,
      clientId: details.params.client_id as string,
    });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(" "));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, {
    mergeWithLastSubmission: true,
  });
}

async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { ...await exportJWK(privateKey), kid: crypto.randomUUID(), alg: "RS256", use: "sig" };
}

/** Starts the provider on a free loopback port. */
export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  const scopes = options.scopes ?? ["mcp", "ai", "other"];
  const clientKeys = await generateKeyPair("RS256", { extractable: true });
  const clientPublic = { ...await exportJWK(clientKeys.publicKey), kid: "server-a", alg: "RS256" };
  const privateKeyPem = await (await import("jose")).exportPKCS8(clientKeys.privateKey);
  const clients = {
    basic: { id: "server-a", secret: crypto.randomUUID() },
    post: { id: "server-a-post", secret: crypto.randomUUID() },
    shortLived: { id: "server-a-short", secret: crypto.randomUUID() },
    opaque: { id: "server-a-opaque", secret: crypto.randomUUID() },
    introspector: { id: "server-b", secret: crypto.randomUUID() },
  };
  const base = {
    grant_types: ["client_credentials"],
    redirect_uris: [],
    response_types: [],
  };
  const secretClient = (c: Required<FakeClient>, method = "client_secret_basic") => ({
    ...base,
    client_id: c.id,
    client_secret: c.secret,
    token_endpoint_auth_method: method,
  });
  let tokenRequests = 0;
  let authorizations = 0;
  let registrations = 0;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  let provider: Provider | undefined;
  const server = createServer((req, res) => {
    if (req.method === "POST" && req.url?.startsWith("/token")) tokenRequests++;
    if (req.method === "GET" && req.url?.startsWith("/auth?")) authorizations++;
    if (req.method === "POST" && req.url?.startsWith("/reg")) registrations++;
    if (options.authorizationCode && provider && req.url?.startsWith("/interaction/")) {
      approve(provider, req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const build = async () => {
    provider = new Provider(issuer, {
      ...(options.authorizationCode
        ? {
          issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) =>
            Promise.resolve(client.grantTypeAllowed("refresh_token")),
        }
        : {}),
      clients: [
        secretClient(clients.basic),
        secretClient(clients.post, "client_secret_post"),
        secretClient(clients.shortLived),
        secretClient(clients.opaque),
        secretClient(clients.introspector),
        {
          ...base,
          client_id: "server-a-jwt",
          token_endpoint_auth_method: "private_key_jwt",
          token_endpoint_auth_signing_alg: "RS256",
          jwks: { keys: [clientPublic] },
        },
      ],
      jwks: { keys: [await signingKey()] },
      scopes,
      features: {
        devInteractions: { enabled: false },
        registration: { enabled: options.authorizationCode === true },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => options.defaultResource,
          useGrantedResource: () => true,
          getResourceServerInfo: (
            _ctx: unknown,
            _resource: string,
            client: { clientId: string },
          ) => ({
            scope: scopes.join(" "),
            // 3 s: `exp` is whole seconds, so a 1 s token may live a millisecond.
            accessTokenTTL: client.clientId === clients.shortLived.id
              ? 3
              : options.accessTokenTtl ?? 3600,
            accessTokenFormat: client.clientId === clients.opaque.id ? "opaque" : "jwt",
          }),
        },
      },
    });
    handler = provider!.callback();
  };
  await build();

  const tokenUrl = `${issuer}/token`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    issuer,
    tokenUrl,
    ...clients,
    privateKeyJwt: { id: "server-a-jwt", privateKeyPem },
    get tokenRequests() {
      return tokenRequests;
    },
    get authorizations() {
      return authorizations;
    },
    get registrations() {
      return registrations;
    },
    rotate: build,
    async token(client, params = {}) {
      const response = await fetch(tokenUrl, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${btoa(`${client.id}:${client.secret}`)}`,
        },
        body: new URLSearchParams({ grant_type: "client_credentials", ...params }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(`token request failed: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
