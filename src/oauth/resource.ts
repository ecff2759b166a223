/**
 * mcpcomm's servers as OAuth 2.1 protected resources (MCP authorization, RFC 9068, RFC 7662,
 * RFC 9728). JWT access tokens are verified with `jose` against the issuer's JWKS (URL from its
 * discovery document; keys cached, fetched again on an unknown `kid` at most once per
 * `OAUTH_JWKS_MIN_REFRESH_SECONDS`, and after 10 minutes); issuer, audience, expiry and scopes are
 * checked. Opaque tokens go to RFC 7662 introspection when it is configured.
 *
 * Not the SDK's `verifyBearerToken`: it has no clock tolerance and splits the header on one space;
 * its checks (audience, scopes, expiry) are done here with the same outcomes.
 * @module
 */
import type { JWTPayload } from "jose";
import { cachedDiscovery, DiscoveryError } from "./_discovery.ts";

/** `jose` loads with the first JWT to verify, not with every server that might verify one. */
type Jose = typeof import("jose");

/** Who a verified token speaks for. */
export interface VerifiedToken {
  /** How it was verified. */
  via: "static" | "jwt" | "introspection";
  clientId?: string | undefined;
  subject?: string | undefined;
  scopes: string[];
  /** Seconds since the epoch. */
  expiresAt?: number | undefined;
}

/** Why a token was refused: the RFC 6750 error code and a description without the token. */
export class TokenRefused extends Error {
  override name = "TokenRefused";
  constructor(readonly code: "invalid_token" | "insufficient_scope", message: string) {
    super(message);
  }
}

/** The authorization server could not be asked (JWKS, discovery, introspection down). */
export class VerifierUnavailable extends Error {
  override name = "VerifierUnavailable";
}

/** What {@linkcode createTokenVerifier} needs. */
export interface TokenVerifierOptions {
  issuer: string;
  /** Accepted `aud` values (one trailing slash ignored). */
  audiences: string[];
  requiredScopes: string[];
  clockToleranceSeconds: number;
  /** Least time between two JWKS fetches caused by an unknown key. */
  jwksMinRefreshMs: number;
  introspection?: { url?: string | undefined; clientId: string; clientSecret: string } | undefined;
  fetch?: typeof fetch;
}

/** Verifies access tokens; throws {@linkcode TokenRefused} or {@linkcode VerifierUnavailable}. */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

function withAndWithoutSlash(values: string[]): string[] {
  return [...new Set(values.flatMap((v) => [v.replace(/\/+$/, ""), v.replace(/\/*$/, "/")]))];
}

/** The scopes of a token's `scope` (space-separated, RFC 9068) or `scp` (array or string) claim. */
export function scopesOf(claims: Record<string, unknown>): string[] {
  const raw = claims.scope ?? claims.scp;
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return typeof raw === "string" ? raw.split(" ").filter(Boolean) : [];
}

function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

function jwtRefusal(error: unknown, joseErrors: Jose["errors"]): Error {
  if (error instanceof joseErrors.JWTExpired) {
    return new TokenRefused("invalid_token", "The access token has expired");
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const what = error.claim === "aud"
      ? "was not issued for this server (audience)"
      : error.claim === "iss"
      ? "was not issued by the configured issuer"
      : `has an invalid ${error.claim} claim`;
    return new TokenRefused("invalid_token", `The access token ${what}`);
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return new TokenRefused(
      "invalid_token",
      "The access token is signed by a key the issuer does not publish",
    );
  }
  if (
    error instanceof joseErrors.JWSSignatureVerificationFailed ||
    error instanceof joseErrors.JOSEAlgNotAllowed ||
    error instanceof joseErrors.JWSInvalid ||
    error instanceof joseErrors.JWTInvalid
  ) {
    return new TokenRefused("invalid_token", "The access token is not a valid signed JWT");
  }
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
    return new VerifierUnavailable(`The issuer's JWKS could not be read (${error.message})`);
  }
  if (error instanceof joseErrors.JOSEError) {
    return new TokenRefused("invalid_token", "The access token could not be verified");
  }
  return new VerifierUnavailable(
    `The issuer's JWKS could not be fetched (${error instanceof Error ? error.message : error})`,
  );
}

/** Creates the verifier; nothing is fetched before the first token. */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const fetchImpl = options.fetch ?? fetch;
  const discover = cachedDiscovery(options.issuer, fetchImpl);
  const audiences = withAndWithoutSlash(options.audiences);
  const issuers = withAndWithoutSlash([options.issuer]);
  let jwks: ReturnType<Jose["createRemoteJWKSet"]> | undefined;

  const metadata = async () => {
    try {
      return await discover();
    } catch (error) {
      if (error instanceof DiscoveryError) throw new VerifierUnavailable(error.message);
      throw error;
    }
  };

  const checkScopes = (scopes: string[]) => {
    const missing = options.requiredScopes.filter((s) => !scopes.includes(s));
    if (missing.length) {
      throw new TokenRefused(
        "insufficient_scope",
        `The access token lacks the scope ${missing.join(" ")}`,
      );
    }
  };

  const verifyJwt = async (token: string): Promise<VerifiedToken> => {
    const jose = await import("jose");
    if (!jwks) {
      const { jwks_uri } = await metadata();
      if (!jwks_uri) throw new VerifierUnavailable(`The issuer ${options.issuer} has no jwks_uri`);
      jwks = jose.createRemoteJWKSet(new URL(jwks_uri), {
        cooldownDuration: options.jwksMinRefreshMs,
        cacheMaxAge: 600_000,
        timeoutDuration: 10_000,
      });
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(token, jwks, {
        issuer: issuers,
        audience: audiences,
        clockTolerance: options.clockToleranceSeconds,
        algorithms: ALGORITHMS,
        requiredClaims: ["exp"],
      }));
    } catch (error) {
      throw jwtRefusal(error, jose.errors);
    }
    const scopes = scopesOf(payload);
    checkScopes(scopes);
    return {
      via: "jwt",
      clientId: typeof payload.client_id === "string" ? payload.client_id : payload.azp as string,
      subject: payload.sub,
      scopes,
      expiresAt: payload.exp,
    };
  };

  const introspect = async (token: string): Promise<VerifiedToken> => {
    const config = options.introspection!;
    const url = config.url ?? (await metadata()).introspection_endpoint;
    if (!url) throw new VerifierUnavailable("No introspection endpoint");
    let body: Record<string, unknown>;
    try {
      const response = await fetchImpl(url, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          authorization: `Basic ${
            btoa(
              `${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`,
            )
          }`,
        },
        body: new URLSearchParams({ token, token_type_hint: "access_token" }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      body = await response.json();
    } catch (error) {
      throw new VerifierUnavailable(
        `Token introspection failed (${error instanceof Error ? error.message : error})`,
      );
    }
    if (body.active !== true) {
      throw new TokenRefused("invalid_token", "The access token is not active");
    }
    const now = Date.now() / 1000;
    const exp = typeof body.exp === "number" ? body.exp : undefined;
    if (exp !== undefined && exp + options.clockToleranceSeconds < now) {
      throw new TokenRefused("invalid_token", "The access token has expired");
    }
    if (typeof body.iss === "string" && !issuers.includes(body.iss)) {
      throw new TokenRefused(
        "invalid_token",
        "The access token was not issued by the configured issuer",
      );
    }
    const aud = Array.isArray(body.aud) ? body.aud : [body.aud];
    if (!aud.some((a) => typeof a === "string" && audiences.includes(a))) {
      throw new TokenRefused(
        "invalid_token",
        "The access token was not issued for this server (audience)",
      );
    }
    const scopes = scopesOf(body);
    checkScopes(scopes);
    return {
      via: "introspection",
      clientId: typeof body.client_id === "string" ? body.client_id : undefined,
      subject: typeof body.sub === "string" ? body.sub : undefined,
      scopes,
      expiresAt: exp,
    };
  };

  return {
    verify(token) {
      if (looksLikeJwt(token)) return verifyJwt(token);
      if (options.introspection) return introspect(token);
      return Promise.reject(
        new TokenRefused("invalid_token", "The access token is not a JWT (no introspection here)"),
      );
    },
  };
}

/** The RFC 9728 protected resource metadata document of a resource. */
export function protectedResourceMetadata(
  resource: string,
  issuer: string,
  scopes: string[],
): Record<string, unknown> {
  return {
    resource,
    authorization_servers: [issuer],
    bearer_methods_supported: ["header"],
    ...(scopes.length ? { scopes_supported: scopes } : {}),
  };
}
