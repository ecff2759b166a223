/**
 * Test helper: a real OpenID provider and a Server B that accepts only its tokens.
 * @module
 */
import { freePort, startTestServerB, type TestServerB } from "../_helpers.ts";
import {
  type OidcProvider,
  type OidcProviderOptions,
  startOidcProvider,
} from "../fakes/oidc_provider.ts";

/** The provider and Server B; disposing closes both. */
export interface OAuthServerB extends AsyncDisposable {
  idp: OidcProvider;
  b: TestServerB;
  /** Server B's origin, the resource its tokens are for. */
  resource: string;
}

/**
 * Starts the provider (with `idp` options) and a Server B on a free port that requires `scope`,
 * refreshes its JWKS at will, and takes `env` on top.
 */
export async function startOAuthServerB(
  scope: string,
  env: Record<string, string> = {},
  idp: Omit<OidcProviderOptions, "defaultResource"> = {},
): Promise<OAuthServerB> {
  const port = freePort();
  const resource = `http://127.0.0.1:${port}`;
  const provider = await startOidcProvider({ defaultResource: resource, ...idp });
  const b = await startTestServerB({
    HTTP_PORT: String(port),
    OAUTH_ISSUER: provider.issuer,
    OAUTH_RESOURCE: resource,
    OAUTH_REQUIRED_SCOPES: scope,
    OAUTH_JWKS_MIN_REFRESH_SECONDS: "0",
    ...env,
  });
  return {
    idp: provider,
    b,
    resource,
    async [Symbol.asyncDispose]() {
      await b.close();
      await provider.close();
    },
  };
}
