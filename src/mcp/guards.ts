/**
 * The checks every MCP HTTP route runs before a message reaches an MCP server: Host and Origin
 * against DNS rebinding, Accept and Content-Type, the protocol version header, JSON-RPC batches.
 * Each throws an {@linkcode HttpError}; `errorResponse` turns it into the answer.
 * @module
 */
import { readRequestBody, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";
import { HttpError } from "../core/mod.ts";
import { isIpLiteral, isLoopbackHost } from "../http/mod.ts";

/**
 * Protocol versions of the 2025 era accepted in `MCP-Protocol-Version` on a session: 2025-11-25,
 * 2025-06-18, 2025-03-26, and the older ones the SDK still negotiates for legacy HTTP+SSE clients
 * (2024-11-05, 2024-10-07). SDK v1 and v2 list the same; 2026-07-28 requests never reach this
 * check (the SDK's per-request path answers them).
 */
export const MCP_PROTOCOL_VERSIONS: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;

/** Which Host and Origin headers a route accepts. */
export interface HostPolicy {
  /** The address the server bound. On a loopback bind only loopback and listed Host names pass. */
  bindHost: string;
  /** `MCP_ALLOWED_HOSTS`: Host names (with or without port) accepted besides loopback ones. */
  allowedHosts?: readonly string[] | undefined;
  /** `MCP_ALLOWED_ORIGINS`: Origins accepted besides loopback and same-origin ones. */
  allowedOrigins?: readonly string[] | undefined;
}

function parseHost(host: string): URL | undefined {
  if (host === "" || /[\s/\\@?#]/.test(host)) return undefined;
  try {
    return new URL(`http://${host}`);
  } catch {
    return undefined;
  }
}

function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value);
}

/**
 * Host headers already accepted, per policy (the first {@linkcode MAX_REMEMBERED_HOSTS}): parsing
 * one took 8 us of a 2025-era direct call's 230 us of CPU in Server A (V8 profile, issue 14).
 */
const acceptedHosts = new WeakMap<HostPolicy, Set<string>>();
const MAX_REMEMBERED_HOSTS = 64;

/**
 * Refuses (403 `forbidden`) a Host or Origin that a DNS-rebinding page could send:
 * - Host: `localhost` and loopback IP literals always pass, and so do the names in
 *   `allowedHosts`; on a loopback bind nothing else does; on other binds, when `allowedHosts` is
 *   unset, IP literals pass too (a rebinding attack always uses a DNS name).
 * - Origin: absent (not a browser), listed in `allowedOrigins`, a loopback origin, or the
 *   (checked) Host itself.
 */
export function checkHostAndOrigin(request: Request, policy: HostPolicy): void {
  const hostHeader = request.headers.get("host") ?? new URL(request.url).host;
  const origin = request.headers.get("origin");
  let accepted = acceptedHosts.get(policy);
  if (origin === null && accepted?.has(hostHeader)) return;
  const host = parseHost(hostHeader);
  if (!host) throw new HttpError(403, "forbidden", `Host header ${quote(hostHeader)} is invalid`);
  const hostname = host.hostname.toLowerCase();
  const listed = policy.allowedHosts?.some((entry) => {
    const e = entry.toLowerCase();
    return e === hostname || e === host.host;
  });
  if (!isLoopbackHost(hostname) && !listed) {
    if (isLoopbackHost(policy.bindHost)) {
      throw new HttpError(
        403,
        "forbidden",
        `Host ${quote(hostHeader)} is not allowed: this server listens on loopback only; ` +
          "list the name in this server's MCP_ALLOWED_HOSTS if a proxy forwards it",
      );
    }
    if (policy.allowedHosts?.length || !isIpLiteral(hostname)) {
      throw new HttpError(
        403,
        "forbidden",
        `Host ${quote(hostHeader)} is not allowed; list it in this server's MCP_ALLOWED_HOSTS`,
      );
    }
  }
  if (!accepted) acceptedHosts.set(policy, accepted = new Set());
  if (accepted.size < MAX_REMEMBERED_HOSTS) accepted.add(hostHeader);

  if (origin === null) return;
  const trimmed = origin.replace(/\/+$/, "").toLowerCase();
  if (policy.allowedOrigins?.some((o) => o.replace(/\/+$/, "").toLowerCase() === trimmed)) return;
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  const web = url && (url.protocol === "http:" || url.protocol === "https:");
  if (web && (isLoopbackHost(url!.hostname) || url!.host === host.host)) return;
  throw new HttpError(
    403,
    "forbidden",
    `Origin ${quote(origin)} is not allowed; list it in this server's MCP_ALLOWED_ORIGINS`,
  );
}

function mediaType(header: string | null): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

/** 415 unless the body is declared `application/json`. */
export function requireJsonContentType(request: Request): void {
  if (mediaType(request.headers.get("content-type")) === "application/json") return;
  throw new HttpError(
    415,
    "unsupported_media_type",
    "Content-Type must be application/json",
  );
}

/** 406 unless `Accept` lists every one of `types`. */
export function requireAccept(request: Request, types: readonly string[]): void {
  const accept = (request.headers.get("accept") ?? "").toLowerCase();
  const missing = types.filter((type) => !accept.includes(type));
  if (missing.length === 0) return;
  throw new HttpError(
    406,
    "not_acceptable",
    `Accept must list ${types.join(" and ")} (got ${quote(accept)})`,
  );
}

/** 400 when `MCP-Protocol-Version` is present and not one of {@linkcode MCP_PROTOCOL_VERSIONS}. */
export function checkProtocolVersion(request: Request): void {
  const version = request.headers.get("mcp-protocol-version");
  if (version === null || MCP_PROTOCOL_VERSIONS.includes(version)) return;
  throw new HttpError(
    400,
    "invalid_request",
    `Unsupported MCP-Protocol-Version ${quote(version)}; supported: ${
      MCP_PROTOCOL_VERSIONS.join(", ")
    }`,
  );
}

const decoder = new TextDecoder();

/** Parses one JSON-RPC message body: 400 for bad JSON, for a batch (array), or a non-object. */
export function parseJsonRpcBody(body: Uint8Array | string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === "string" ? body : decoder.decode(body));
  } catch {
    throw new HttpError(400, "invalid_json", "Request body is not valid JSON");
  }
  return jsonRpcMessageOf(parsed);
}

/** `parsed` as one JSON-RPC message object: 400 for a batch (array) or a non-object. */
export function jsonRpcMessageOf(parsed: unknown): Record<string, unknown> {
  if (Array.isArray(parsed)) {
    throw new HttpError(
      400,
      "invalid_request",
      "JSON-RPC batches are not accepted; send one message per request",
    );
  }
  if (
    typeof parsed !== "object" || parsed === null ||
    (parsed as Record<string, unknown>).jsonrpc !== "2.0"
  ) {
    throw new HttpError(400, "invalid_request", "Body must be one JSON-RPC 2.0 message object");
  }
  return parsed as Record<string, unknown>;
}

/**
 * The POST body as text within `maxBytes` (413 `payload_too_large` past it). A body that declares
 * its length within the limit (and no `Transfer-Encoding`) is read whole with `request.text()`
 * (the server holds it to that length); any other goes through the SDK's bounded
 * `readRequestBody`, whose chunk loop cost 17 us of the 230 us of CPU a 2025-era direct call
 * took in Server A (V8 profile under wrk, issue 14).
 */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (
    declared !== null && /^\d+$/.test(declared) && Number(declared) <= maxBytes &&
    !request.headers.has("transfer-encoding")
  ) {
    return await request.text();
  }
  const body = await readRequestBody(request, maxBytes);
  if (body.tooLarge) {
    throw new HttpError(413, "payload_too_large", `Request body is larger than ${maxBytes} bytes`);
  }
  return body.text;
}
