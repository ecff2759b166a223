/**
 * Server A's OAuth client credentials for Server B, from the `SERVER_B_OAUTH_*` settings: one
 * token source per options object, shared by every Server B client (the balancer's too). Tokens
 * come only from Server A's own credentials: nothing a downstream MCP client sends is passed on.
 * @module
 */
import { ConfigError, publicUrl } from "../core/mod.ts";
import { type ClientAuthMethod, createClientCredentialsSource } from "../oauth/mod.ts";

type Authorization = (renew?: { stale: string }) => Promise<string>;

/** The `SERVER_B_OAUTH_*` settings, and the Server B they are for. */
export interface ServerBOAuthOptions {
  /** `SERVER_B_OAUTH_CLIENT_ID`: without it, no OAuth. */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  tokenUrl?: string | undefined;
  issuer?: string | undefined;
  privateKeyFile?: string | undefined;
  authMethod?: ClientAuthMethod | undefined;
  scope?: string | undefined;
  /** The RFC 8707 resource; default: `serverBUrl` without secrets. */
  resource?: string | undefined;
  serverBUrl: string;
}

const built = new WeakMap<ServerBOAuthOptions, Authorization>();

function readKey(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new ConfigError(
      `SERVER_B_OAUTH_PRIVATE_KEY_FILE: cannot read ${path} (${
        error instanceof Error ? error.message : error
      })`,
    );
  }
}

/**
 * The `Authorization` provider for Server B when `SERVER_B_OAUTH_CLIENT_ID` is set, else
 * `undefined`; throws {@linkcode ConfigError} for an incomplete setup.
 */
export function serverBTokenSource(options: ServerBOAuthOptions): Authorization | undefined {
  const { clientId } = options;
  if (!clientId) return undefined;
  const existing = built.get(options);
  if (existing) return existing;
  if (!options.tokenUrl && !options.issuer) {
    throw new ConfigError(
      "SERVER_B_OAUTH_CLIENT_ID is set but neither SERVER_B_OAUTH_TOKEN_URL nor " +
        "SERVER_B_OAUTH_ISSUER: set one so Server A knows where to get tokens",
    );
  }
  const privateKeyPem = options.privateKeyFile ? readKey(options.privateKeyFile) : undefined;
  const method: ClientAuthMethod = options.authMethod ??
    (privateKeyPem ? "private_key_jwt" : "client_secret_basic");
  if (method === "private_key_jwt" && !privateKeyPem) {
    throw new ConfigError(
      "SERVER_B_OAUTH_AUTH_METHOD=private_key_jwt needs SERVER_B_OAUTH_PRIVATE_KEY_FILE",
    );
  }
  if (method !== "private_key_jwt" && !options.clientSecret) {
    throw new ConfigError(
      `SERVER_B_OAUTH_AUTH_METHOD=${method} needs SERVER_B_OAUTH_CLIENT_SECRET`,
    );
  }
  const source = createClientCredentialsSource({
    tokenUrl: options.tokenUrl,
    issuer: options.issuer,
    clientId,
    clientSecret: options.clientSecret,
    privateKeyPem,
    method,
    scope: options.scope,
    resource: options.resource ?? publicUrl(options.serverBUrl).replace(/\/+$/, ""),
  });
  const authorization: Authorization = (renew) => source.authorization(renew);
  built.set(options, authorization);
  return authorization;
}
