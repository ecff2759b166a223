/**
 * The speed-trick rows of Server A: its HTTP/1.1 pool to Server B (`src/http/http1.ts`) against
 * `fetch`, and each code trick (`SERVER_A_TRICKS`) against its plain twin, measured side by side
 * in one run as the share of Server A's CPU per tools/call it saves. A trick that saves less than
 * 5% of its path's CPU (or of Server B's throughput, end to end: `_server_b_tricks.ts`) goes
 * (issue 18).
 * @module
 */
import { median } from "./_load.ts";
import {
  modernHeaders,
  modernToolCall,
  openSession,
  PROTOCOL_VERSION,
  readMessages,
  type RpcMessage,
  toolCall,
} from "./_mcp.ts";
import { freePort, MAIN, type Proc, RUN_FLAGS, spawn, waitForPort } from "./_processes.ts";
import { checkSwaps, copiedModules, writeImportMap } from "./_server_b_tricks.ts";

/** One trick against its plain alternative. */
export interface Ablation {
  trick: string;
  /** The path whose CPU the saving is a share of. */
  path: string;
  /** CPU per request of the path with the trick, microseconds. */
  pathUs: number;
  /** CPU per request with the trick, microseconds. */
  trickUs: number;
  /** CPU per request with the plain alternative, microseconds. */
  plainUs: number;
  /** `(plainUs - trickUs) / pathUs`. */
  share: number;
  /** What was measured. */
  how: string;
  /** A control, not a trick: the trick modules swapped for copies of themselves. */
  control?: boolean;
}

/** CPU seconds a process's threads have run, to the nanosecond (each thread's `schedstat`). */
export function cpuSeconds(pid: number): number {
  let ns = 0;
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`).split(" ")[0]);
    } catch {
      // the thread ended
    }
  }
  return ns / 1e9;
}

/** Runs `n` calls of `call`, `concurrency` at a time. */
async function drive(n: number, concurrency: number, call: () => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < n) await call();
  }));
}

/**
 * CPU microseconds per call of processes loaded at the same time, `n` calls each, so that all
 * see the same machine.
 */
async function cpuPerCallSideBySide(
  n: number,
  ...sides: [Proc, () => Promise<void>][]
): Promise<number[]> {
  const before = sides.map(([proc]) => cpuSeconds(proc.pid));
  await Promise.all(sides.map(([, call]) => drive(n, 4, call)));
  return sides.map(([proc], i) => (cpuSeconds(proc.pid) - before[i]!) / n * 1e6);
}

/**
 * A Server A speed trick in a module of its own, measured against its plain twin (same exports,
 * under `bench/plain/`) swapped in by an import map.
 */
interface ServerATrick {
  trick: string;
  module: string;
  plain: string;
  /** Measured on 2026-07-28 calls (else 2025-era calls in a session). */
  modern: boolean;
}

/** Server A's code tricks. */
export const SERVER_A_TRICKS: readonly ServerATrick[] = [
  {
    trick: "2025-era routing without the classifier's failed parses (vs isLegacyRequest)",
    module: "src/mcp/_era.ts",
    plain: "bench/plain/era.ts",
    modern: false,
  },
  {
    trick: "2026-07-28 route remembered per envelope (vs classifyInboundRequest)",
    module: "src/mcp/_modern_route.ts",
    plain: "bench/plain/modern_route.ts",
    modern: true,
  },
];

/** A function that makes one `send_message_to_ai` tools/call on the Server A at `url`. */
async function toolCaller(url: string, modern: boolean): Promise<() => Promise<void>> {
  const sid = modern ? undefined : await openSession(`${url}/mcp`);
  const body = JSON.stringify(
    modern
      ? modernToolCall(1, "send_message_to_ai", { message: "hello" })
      : toolCall(1, "send_message_to_ai", { message: "hello" }),
  );
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(sid
      ? { "mcp-session-id": sid, "mcp-protocol-version": PROTOCOL_VERSION }
      : modernHeaders("send_message_to_ai")),
  };
  return async () => {
    const response = await fetch(`${url}/mcp`, { method: "POST", headers, body });
    let answer: RpcMessage | undefined;
    await readMessages(response, (m) => (answer = m).id === 1);
    if (!answer?.result || JSON.stringify(answer).includes('"isError":true')) {
      throw new Error(`tools/call at ${url} failed: ${JSON.stringify(answer)}`);
    }
  };
}

/** A Server A variant: environment and Deno flags on top of the shipped one. */
interface Variant {
  name: string;
  env?: Record<string, string>;
  denoFlags?: string[];
}

/**
 * Measures each kept trick of Server A: starts a Server B (mock provider, memory ledger), then
 * per trick a fresh pair of Server A in front of it, the trick against its plain alternative,
 * warmed up alike and loaded at the same time (a process that has served longer spends less CPU
 * per call, so a pair never shares a process with another pair). The HTTP/1.1 pool is measured
 * against `fetch` (as behind a proxy, with the proxy skipped for loopback); a code trick's module
 * is swapped by import map for a copy of itself on one side and for its plain twin on the other.
 * A control pair measures the shipped Server A against one with every trick module a copy.
 */
export async function measureAblations(
  options: { quick: boolean; rounds: number; cwd: string; say: (line: string) => void },
): Promise<Ablation[]> {
  const calls = options.quick ? 600 : 2000;
  const env = { LOG_LEVEL: "warn", XDG_DATA_HOME: options.cwd, MCPCOMM_DB: ":memory:" };
  const procs = new Set<Proc>();
  const start = (
    name: string,
    args: string[],
    extra: Record<string, string>,
    port: string,
    denoFlags: string[] = [],
  ) => {
    const p = freePort();
    const proc = spawn(name, Deno.execPath(), ["run", ...RUN_FLAGS, ...denoFlags, MAIN, ...args], {
      ...env,
      ...extra,
      [port]: String(p),
    }, options.cwd);
    procs.add(proc);
    return { proc, url: `http://127.0.0.1:${p}`, ready: waitForPort(proc, p) };
  };
  const mapFlag = (name: string, swaps: [string, string][]) => [
    `--import-map=${writeImportMap(options.cwd, name, swaps)}`,
  ];
  const copies = copiedModules(options.cwd, "a_copy", SERVER_A_TRICKS);
  const pairs: {
    trick: string;
    modern: boolean;
    sides: [Variant, Variant];
    control?: boolean;
  }[] = [
    {
      trick: "http1 pool to Server B (vs fetch)",
      modern: false,
      sides: [{ name: "http1" }, {
        name: "fetch",
        env: { HTTP_PROXY: "http://127.0.0.1:9", NO_PROXY: "127.0.0.1,localhost" },
      }],
    },
    ...SERVER_A_TRICKS.map((t, i) => ({
      trick: t.trick,
      modern: t.modern,
      sides: [
        { name: "copy", denoFlags: mapFlag(`a_copy_${i}`, [copies[i]!]) },
        { name: "plain", denoFlags: mapFlag(`a_plain_${i}`, [[t.module, t.plain]]) },
      ] as [Variant, Variant],
    })),
    {
      trick: "control: as shipped vs every trick module a copy through an import map",
      modern: true,
      sides: [{ name: "shipped" }, { name: "copies", denoFlags: mapFlag("a_copies", copies) }],
      control: true,
    },
  ];
  try {
    await checkSwaps(options.cwd, "src/server_a/mod.ts", SERVER_A_TRICKS);
    const b = start("server-b", ["server-b"], {
      HTTP_HOST: "127.0.0.1",
      AI_PROVIDER: "mock",
      MOCK_DELAY_MS: "0",
    }, "HTTP_PORT");
    await b.ready;
    const aEnv = { SERVER_B_URL: b.url, SERVER_A_HOST: "127.0.0.1" };
    const results: Ablation[] = [];
    for (const pair of pairs) {
      options.say(`speed tricks: ${pair.trick}`);
      const [withTrick, withPlain] = pair.sides.map((v) =>
        start(
          `server-a (${v.name})`,
          ["server-a", "--transport", "http"],
          { ...aEnv, ...v.env },
          "SERVER_A_PORT",
          v.denoFlags,
        )
      ) as [ReturnType<typeof start>, ReturnType<typeof start>];
      try {
        await Promise.all([withTrick.ready, withPlain.ready]);
        const callTrick = await toolCaller(withTrick.url, pair.modern);
        const callPlain = await toolCaller(withPlain.url, pair.modern);
        await cpuPerCallSideBySide(calls, [withTrick.proc, callTrick], [withPlain.proc, callPlain]);
        const trick: number[] = [];
        const plain: number[] = [];
        for (let round = 0; round < options.rounds; round++) {
          const [t, p] = await cpuPerCallSideBySide(
            calls,
            [withTrick.proc, callTrick],
            [withPlain.proc, callPlain],
          );
          trick.push(t!);
          plain.push(p!);
        }
        const trickUs = median(trick);
        const plainUs = median(plain);
        results.push({
          trick: pair.trick,
          path: pair.modern ? "Server A 2026-07-28 tools/call" : "Server A tools/call",
          pathUs: trickUs,
          trickUs,
          plainUs,
          share: (plainUs - trickUs) / trickUs,
          how:
            `Server A's CPU per call, a fresh pair warmed up with ${calls} calls each, then ${calls} calls x ${options.rounds} rounds, both at once`,
          ...(pair.control ? { control: true } : {}),
        });
      } finally {
        for (const side of [withTrick, withPlain]) {
          procs.delete(side.proc);
          await side.proc.stop();
        }
      }
    }
    return results;
  } finally {
    await Promise.all([...procs].map((proc) => proc.stop()));
  }
}
