/**
 * The shared-secret token between the machines (`MCPCOMM_AUTH_TOKEN`): the `Authorization:
 * Bearer` check both servers use, compared in constant time, and the warning or refusal for an
 * exposed bind.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ConfigError, HttpError } from "./errors.ts";
import { isLoopbackHost } from "./http.ts";
import type { Logger } from "./log.ts";

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

/**
 * Whether `given` equals `expected`, in time that depends on neither value (both are hashed
 * first, so lengths leak nothing either).
 */
export function tokensMatch(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, or `undefined`. */
export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  const match = header?.match(/^Bearer[ \t]+(\S+)[ \t]*$/i);
  return match?.[1];
}

/** An RFC 7230 quoted-string: `value` in double quotes, `"` and `\\` escaped. */
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Throws 401 `unauthorized` unless the request carries `Authorization: Bearer <token>`; does
 * nothing when `token` is unset. `WWW-Authenticate` names the problem (RFC 6750 `error` and
 * `error_description`), so OAuth clients report it instead of starting discovery. The answer
 * never contains the expected or the given token.
 * @example
 * ```ts
 * requireBearer(request, config.MCPCOMM_AUTH_TOKEN); // throws HttpError(401) on a bad token
 * ```
 */
export function requireBearer(request: Request, token: string | undefined): void {
  if (!token) return;
  const given = bearerToken(request);
  if (given !== undefined && tokensMatch(given, token)) return;
  const description = given === undefined
    ? "Missing bearer token: this server requires MCPCOMM_AUTH_TOKEN"
    : "Invalid bearer token";
  throw new HttpError(
    401,
    "unauthorized",
    given === undefined
      ? "Missing Authorization: Bearer token (this server requires MCPCOMM_AUTH_TOKEN)"
      : "Invalid bearer token",
    {
      "www-authenticate": `Bearer realm="mcpcomm", error="invalid_token", error_description=${
        quoted(description)
      }`,
    },
  );
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
