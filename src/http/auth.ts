/**
 * Who may call the servers: the shared-secret token between the machines (`MCPCOMM_AUTH_TOKEN`,
 * `./_bearer.ts`) and/or OAuth access tokens (`OAUTH_ISSUER`, `./_oauth.ts`), behind one
 * {@linkcode Authenticator} every edge calls; and the warning or refusal for an exposed bind.
 * @module
 */
import { ConfigError, type Logger } from "../core/mod.ts";
import { isLoopbackHost } from "./hosts.ts";
import type { VerifiedToken } from "../oauth/mod.ts";
import type { Authenticator } from "./_authenticator.ts";
import { oauthProbeAnswer, requireBearer } from "./_bearer.ts";
import {
  oauthAuthenticator,
  oauthResourceOf,
  type OAuthResourceOptions,
  type OAuthSettings,
} from "./_oauth.ts";

export type { Authenticator } from "./_authenticator.ts";
export { bearerToken, requireBearer, tokensMatch } from "./_bearer.ts";
export type { OAuthResourceOptions, OAuthSettings } from "./_oauth.ts";

/**
 * The authenticator for a static token and/or an OAuth resource; with neither, every request
 * passes.
 */
export function createAuthenticator(
  token: string | undefined,
  oauth?: OAuthResourceOptions,
): Authenticator {
  if (!oauth) {
    return {
      required: token !== undefined,
      authenticate(request) {
        requireBearer(request, token);
        return Promise.resolve(token ? { via: "static", scopes: [] } : undefined);
      },
      wellKnown: (request) => oauthProbeAnswer(new URL(request.url).pathname, token),
    };
  }
  return oauthAuthenticator(token, oauth);
}

/** The settings {@linkcode authenticatorFor} reads, named as in `Config`. */
export interface AuthenticatorOptions extends OAuthSettings {
  readonly MCPCOMM_AUTH_TOKEN?: string | undefined;
}

const built = new WeakMap<AuthenticatorOptions, Authenticator>();

/**
 * The one authenticator of a settings object (`MCPCOMM_AUTH_TOKEN`, `OAUTH_*`), built on first
 * use and shared by every edge of the process; throws {@linkcode ConfigError} for an incomplete
 * OAuth setup.
 */
export function authenticatorFor(config: AuthenticatorOptions): Authenticator {
  let auth = built.get(config);
  if (auth) return auth;
  auth = createAuthenticator(config.MCPCOMM_AUTH_TOKEN, oauthResourceOf(config));
  built.set(config, auth);
  return auth;
}

/**
 * Checks a request with an authenticator, or with a bare static token (older call sites);
 * throws {@linkcode HttpError} 401/403/503.
 */
export function authenticate(
  request: Request,
  auth: Authenticator | string | undefined,
): Promise<VerifiedToken | undefined> {
  if (typeof auth === "object") return auth.authenticate(request);
  try {
    requireBearer(request, auth);
  } catch (error) {
    return Promise.reject(error);
  }
  return Promise.resolve(auth ? { via: "static", scopes: [] } : undefined);
}

/** The settings {@linkcode guardOf} reads, named as in `Config`. */
export interface GuardOptions {
  readonly MCPCOMM_AUTH_TOKEN?: string | undefined;
  readonly OAUTH_ISSUER?: string | undefined;
}

/** A stand-in for `MCPCOMM_AUTH_TOKEN` in exposure checks: set when any token is required. */
export function guardOf(config: GuardOptions): string | undefined {
  return config.MCPCOMM_AUTH_TOKEN ?? config.OAUTH_ISSUER;
}

/** What {@linkcode warnIfExposed} needs to say what is exposed. */
export interface ExposureInfo {
  /** The server's name, e.g. `Server B`. */
  server: string;
  /** The bound address. */
  bindHost: string;
  port: number;
  token: string | undefined;
  /** What anyone reaching the port can do, e.g. `POST /process (spends AI provider credit)`. */
  exposed: string[];
}

/**
 * Logs one warning when a server binds a non-loopback address without a token, naming what is
 * then open to anyone who reaches the port. Returns whether it warned.
 */
export function warnIfExposed(log: Logger, info: ExposureInfo): boolean {
  if (info.token || isLoopbackHost(info.bindHost)) return false;
  log.warn(
    `${info.server} listens on ${info.bindHost}:${info.port} without MCPCOMM_AUTH_TOKEN: anyone ` +
      `who can reach this port can use ${info.exposed.join(", ")}. Set MCPCOMM_AUTH_TOKEN ` +
      `(--auth-token) or bind 127.0.0.1.`,
  );
  return true;
}

/** What {@linkcode refuseOpenBind} needs to decide, and to say how to get out. */
export interface OpenBind {
  /** What anyone reaching the port could use, e.g. `the openai provider` or `run_command`. */
  serving: string;
  /** The bound address. */
  bindHost: string;
  /** The settings or flags that choose the address, e.g. `HTTP_HOST, --host`. */
  hostSetting: string;
  token: string | undefined;
  /** `MCPCOMM_INSECURE_NO_AUTH`: the operator accepts the risk. */
  insecure: boolean;
}

/**
 * Throws {@linkcode ConfigError} when `serving` would be open on a non-loopback address without
 * MCPCOMM_AUTH_TOKEN and without MCPCOMM_INSECURE_NO_AUTH, naming the three ways out.
 * @example
 * ```ts
 * refuseOpenBind({ serving: "run_command", bindHost: "0.0.0.0", hostSetting: "--host",
 *   token: undefined, insecure: false }); // throws
 * ```
 */
export function refuseOpenBind(bind: OpenBind): void {
  if (bind.token || bind.insecure || isLoopbackHost(bind.bindHost)) return;
  throw new ConfigError(
    `Refusing to serve ${bind.serving} on ${bind.bindHost} without a token: set ` +
      `MCPCOMM_AUTH_TOKEN (--auth-token), or bind 127.0.0.1 (${bind.hostSetting}), or accept ` +
      `the risk with MCPCOMM_INSECURE_NO_AUTH=true (--insecure-no-auth)`,
  );
}
