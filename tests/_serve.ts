/**
 * A request handler served on a loopback port for a test, through the product's own `listen()`.
 * @module
 */
import { listen } from "../src/http/serve.ts";
import type { TlsFiles } from "../src/http/tls.ts";

/** A handler being served; `stop()` ends the server and waits until it has finished. */
export interface LoopbackServer {
  port: number;
  /** `http://127.0.0.1:PORT` (`https:` with TLS). */
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves `handler` on 127.0.0.1, on a free port unless `port` is given.
 * @example
 * ```ts
 * const served = await serveOnLoopback(() => new Response("ok"));
 * await fetch(served.url);
 * await served.stop();
 * ```
 */
export async function serveOnLoopback(
  handler: (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>,
  options: { port?: number; tls?: TlsFiles | undefined } = {},
): Promise<LoopbackServer> {
  const controller = new AbortController();
  const { server, addr } = await listen({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    signal: controller.signal,
    portSetting: "port",
    tls: options.tls,
  }, handler);
  return {
    port: addr.port,
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${addr.port}`,
    async stop() {
      controller.abort();
      await server.finished;
    },
  };
}
