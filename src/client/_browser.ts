/**
 * How the authorization URL reaches a browser: the system's opener, or (testing aid) fetching
 * it and following the redirects to the loopback listener.
 * @module
 */
import { AuthorizationError } from "./_authorization_error.ts";

/**
 * Fetches `url` and follows the authorization server's redirects, cookies kept, until one goes
 * to `redirectUrl`, which is fetched too.
 */
export async function followToLoopback(url: URL, redirectUrl: string): Promise<void> {
  const cookies = new Map<string, string>();
  let next = url;
  for (let hops = 0; hops < 10; hops++) {
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const response = await fetch(next, {
      redirect: "manual",
      headers: cookie ? { cookie } : {},
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel();
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair!.indexOf("=");
      if (at > 0) cookies.set(pair!.slice(0, at).trim(), pair!.slice(at + 1).trim());
    }
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new AuthorizationError(
        `the authorization server answered HTTP ${response.status} without redirecting`,
      );
    }
    next = new URL(location, next);
    if (next.href.startsWith(redirectUrl)) {
      await (await fetch(next)).body?.cancel();
      return;
    }
  }
  throw new AuthorizationError("too many redirects before the loopback redirect");
}

/** Opens `url` in the system browser; without an opener the printed URL is the way. */
export function openBrowser(url: URL): void {
  const [command, ...args] = Deno.build.os === "darwin"
    ? ["open", url.href]
    : Deno.build.os === "windows"
    ? ["cmd", "/c", "start", "", url.href]
    : ["xdg-open", url.href];
  try {
    const child = new Deno.Command(command!, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.status.catch(() => {});
    child.unref();
  } catch {
    // No browser opener: the printed URL is the way.
  }
}
