/**
 * The per-address connection limit of the guard (`MAX_CONNECTIONS_PER_ADDRESS`): counts open
 * public connections per client address and refuses more with a 503, logged once a minute per
 * address. Loopback clients are not counted unless asked.
 * @module
 */
import type { Logger } from "../core/mod.ts";
import { closeQuietly, rawAnswer, REFUSE_GRACE_MS, writeAll } from "./_conn_io.ts";
import { isLoopbackHost } from "./hosts.ts";

const LOG_EVERY_MS = 60_000;

/** What {@linkcode addressLimit} enforces. */
export interface AddressLimitOptions {
  /** Most connections open at once from one client address; 0 = no limit. */
  maxPerAddress: number;
  /** Count loopback clients against `maxPerAddress` too (default false). */
  limitLoopback?: boolean | undefined;
  log?: Logger | undefined;
}

/** Open connections per client address. */
export interface AddressLimit {
  /** Counts a new public connection against its address, or refuses it (and answers 503). */
  admit(client: Deno.Conn): boolean;
  /** Uncounts a closed connection of `host`. */
  release(host: string): void;
}

/** A fresh per-address count with its limit. */
export function addressLimit(options: AddressLimitOptions): AddressLimit {
  const { maxPerAddress, log } = options;
  const perAddress = new Map<string, number>();
  const refusalLogged = new Map<string, number>();
  const tooMany = rawAnswer(
    "503 Service Unavailable",
    "too_many_connections",
    `Too many connections from your address (at most ${maxPerAddress}); close one and retry`,
  );

  const release = (host: string) => {
    const left = (perAddress.get(host) ?? 1) - 1;
    if (left > 0) perAddress.set(host, left);
    else perAddress.delete(host);
  };

  const counted = (host: string) =>
    options.limitLoopback === true ||
    !(isLoopbackHost(host) || host.toLowerCase().startsWith("::ffff:127."));

  const refuse = (client: Deno.Conn, host: string) => {
    const t = performance.now();
    if (t - (refusalLogged.get(host) ?? -Infinity) >= LOG_EVERY_MS) {
      if (refusalLogged.size >= 10_000) {
        for (const [key, at] of refusalLogged) {
          if (t - at >= LOG_EVERY_MS) refusalLogged.delete(key);
        }
      }
      refusalLogged.set(host, t);
      log?.warn("connections refused: too many from one address", {
        remote: host,
        limit: maxPerAddress,
      });
    }
    const timer = setTimeout(() => closeQuietly(client), REFUSE_GRACE_MS);
    writeAll(client, tooMany).catch(() => {}).finally(() => {
      clearTimeout(timer);
      closeQuietly(client);
    });
  };

  /** Counts a new public connection against its address, or refuses it. */
  const admit = (client: Deno.Conn): boolean => {
    const host = (client.remoteAddr as Deno.NetAddr).hostname;
    const open = perAddress.get(host) ?? 0;
    if (maxPerAddress > 0 && open >= maxPerAddress && counted(host)) {
      refuse(client, host);
      return false;
    }
    perAddress.set(host, open + 1);
    return true;
  };
  return { admit, release };
}
