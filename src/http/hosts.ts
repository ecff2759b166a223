/**
 * Host and URL checks: IP literals, loopback hosts, a request's path, a URL safe to show.
 * @module
 */

const PLAIN_URL = /^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9_~\/-]*)(?:\?|$)/;

/**
 * The path of a request URL, as `new URL(url).pathname` gives it, without parsing the URL when
 * host and path are plain (nothing in them a URL parser would rewrite).
 * @example
 * ```ts
 * pathOf("http://127.0.0.1:8000/process?x=1"); // "/process"
 * ```
 */
export function pathOf(url: string): string {
  return PLAIN_URL.exec(url)?.[1] ?? new URL(url).pathname;
}

const IPV4_LITERAL = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** The octets of a dotted-quad IPv4 literal (decimal, no leading zeros, each 0-255). */
function ipv4Octets(host: string): number[] | undefined {
  const match = IPV4_LITERAL.exec(host);
  const octets = match?.slice(1).map(Number);
  return octets?.every((n) => n <= 255) ? octets : undefined;
}

/** An IPv6 literal (bracketed or not) in its canonical compressed form, e.g. `::1`. */
function canonicalIpv6(host: string): string | undefined {
  const inner = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (!inner.includes(":") || !/^[0-9a-f:.]+$/i.test(inner)) return undefined;
  try {
    return new URL(`http://[${inner}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/**
 * Whether `host` is an IP address literal: a dotted-quad IPv4 address, or an IPv6 address with or
 * without brackets. A DNS name that merely starts like one (`1.2.3.4.example.com`) is not.
 */
export function isIpLiteral(host: string): boolean {
  return ipv4Octets(host) !== undefined || canonicalIpv6(host) !== undefined;
}

/**
 * Whether a host is loopback: the name `localhost`, or an IP literal in 127.0.0.0/8, `::1` or
 * `::ffff:127.x.x.x`. Other names never count, even `127.0.0.1.example.com` or `a.localhost`.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost") return true;
  const v4 = ipv4Octets(h);
  if (v4) return v4[0] === 127;
  const v6 = canonicalIpv6(h);
  return v6 === "::1" || (v6 !== undefined && /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(v6));
}
