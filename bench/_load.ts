/**
 * Load generation of the bench: `wrk` driven by `bench/load.lua`, and the statistics the table uses.
 * @module
 */
import { hasCommand, ROOT, runToEnd } from "./_processes.ts";

/**
 * The value of a bench's numeric flag `--name`: a positive integer (wrk takes whole seconds), else a
 * `RangeError` naming the flag, so a typo never runs a bench of no rounds.
 */
export function positiveFlag(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`--${name} must be a positive integer, not "${value}"`);
  }
  return n;
}

/** What one wrk run reports (see `bench/load.lua`). */
export interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  bad: number;
  sample: string;
  latencyUs: { p50: number; p90: number; p99: number; mean: number; max: number };
  /** Requests per second. */
  rps: number;
}

/** One wrk run's settings. */
export interface WrkOptions {
  url: string;
  body: string;
  connections: number;
  threads: number;
  seconds: number;
  sessions?: string[];
  /** More request headers, e.g. the 2026-07-28 `Mcp-Method` and `Mcp-Name`. */
  headers?: Record<string, string>;
  expect?: string;
  reject?: string;
  delayMs?: number;
}

/** Runs wrk once; throws when any request failed (socket error, non-2xx, unexpected body). */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const env: Record<string, string> = { BENCH_BODY: options.body };
  if (options.sessions?.length) env.BENCH_SESSIONS = options.sessions.join(",");
  if (options.headers) {
    env.BENCH_HEADERS = Object.entries(options.headers).map(([k, v]) => `${k}: ${v}`).join("\n");
  }
  if (options.expect) env.BENCH_EXPECT = options.expect;
  if (options.reject) env.BENCH_REJECT = options.reject;
  if (options.delayMs) env.BENCH_DELAY_MS = String(options.delayMs);
  const output = await runToEnd("wrk", [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    `${ROOT}bench/load.lua`,
    options.url,
  ], { env });
  const line = output.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (!line) throw new Error(`wrk printed no result:\n${output}`);
  const result = JSON.parse(line.slice("BENCH_JSON ".length)) as WrkResult;
  result.rps = result.requests / (result.durationUs / 1e6);
  const failed = result.connect + result.read + result.write + result.status + result.timeout +
    result.bad;
  if (failed > 0) {
    throw new Error(
      `${failed} of ${result.requests} requests to ${options.url} failed ` +
        `(connect ${result.connect}, read ${result.read}, write ${result.write}, ` +
        `non-2xx ${result.status}, timeout ${result.timeout}, unexpected body ${result.bad})` +
        (result.sample ? `; first: ${result.sample}` : ""),
    );
  }
  return result;
}

/** Makes sure `wrk` is installed: installs the Debian package when root and apt-get exist. */
export async function ensureWrk(log: (line: string) => void): Promise<void> {
  if (await hasCommand("wrk", ["-v"])) return;
  const root = Deno.uid?.() === 0;
  if (root && await hasCommand("apt-get", ["--version"])) {
    log("wrk is missing; installing the Debian package (apt-get install -y wrk)");
    try {
      await runToEnd("apt-get", ["install", "-y", "wrk"], {
        env: { DEBIAN_FRONTEND: "noninteractive" },
      });
    } catch {
      await runToEnd("apt-get", ["update"]);
      await runToEnd("apt-get", ["install", "-y", "wrk"], {
        env: { DEBIAN_FRONTEND: "noninteractive" },
      });
    }
    if (await hasCommand("wrk", ["-v"])) return;
  }
  throw new Error(
    "The bench needs wrk (https://github.com/wg/wrk): install it, e.g. `sudo apt-get install -y wrk` " +
      "or `brew install wrk`, then run `deno task bench` again",
  );
}

/** Median of `values` (NaN when empty). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `p`-th percentile (0-100, nearest rank) of `values` (NaN when empty). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
