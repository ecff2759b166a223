/**
 * The speed-trick row of Server A: its HTTP/1.1 pool to Server B (`src/http/http1.ts`) against
 * `fetch`, measured side by side in one run as the share of Server A's CPU per tools/call it
 * saves. A trick that saves less than 5% of its path's CPU (or of Server B's throughput, end to
 * end: `_server_b_tricks.ts`) goes (issue 18).
 * @module
 */
import { median } from "./_load.ts";
import { openSession, PROTOCOL_VERSION, readMessages, type RpcMessage, toolCall } from "./_mcp.ts";
import { freePort, MAIN, type Proc, RUN_FLAGS, spawn, waitForPort } from "./_processes.ts";

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

/** A function that makes one `send_message_to_ai` tools/call on the Server A at `url`. */
async function toolCaller(url: string): Promise<() => Promise<void>> {
  const sid = await openSession(`${url}/mcp`);
  const body = JSON.stringify(toolCall(1, "send_message_to_ai", { message: "hello" }));
  return async () => {
    const response = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": sid,
        "mcp-protocol-version": PROTOCOL_VERSION,
      },
      body,
    });
    let answer: RpcMessage | undefined;
    await readMessages(response, (m) => (answer = m).id === 1);
    if (!answer?.result || JSON.stringify(answer).includes('"isError":true')) {
      throw new Error(`tools/call at ${url} failed: ${JSON.stringify(answer)}`);
    }
  };
}

/**
 * Measures each kept trick: starts a Server B (mock provider, memory ledger) and two Server A
 * in front of it, one with the HTTP/1.1 pool and one on `fetch` (as behind a proxy, with the
 * proxy skipped for loopback), and loads both at once.
 */
export async function measureAblations(
  options: { quick: boolean; rounds: number; cwd: string; say: (line: string) => void },
): Promise<Ablation[]> {
  const calls = options.quick ? 600 : 2000;
  const env = { LOG_LEVEL: "warn", XDG_DATA_HOME: options.cwd, MCPCOMM_DB: ":memory:" };
  const procs: Proc[] = [];
  const start = (name: string, args: string[], extra: Record<string, string>, port: string) => {
    const p = freePort();
    const proc = spawn(name, Deno.execPath(), ["run", ...RUN_FLAGS, MAIN, ...args], {
      ...env,
      ...extra,
      [port]: String(p),
    }, options.cwd);
    procs.push(proc);
    return { proc, url: `http://127.0.0.1:${p}`, ready: waitForPort(proc, p) };
  };
  try {
    options.say("speed tricks: starting Server B and two Server A (HTTP/1.1 pool, fetch)");
    const b = start("server-b", ["server-b"], {
      HTTP_HOST: "127.0.0.1",
      AI_PROVIDER: "mock",
      MOCK_DELAY_MS: "0",
    }, "HTTP_PORT");
    await b.ready;
    const aEnv = { SERVER_B_URL: b.url, SERVER_A_HOST: "127.0.0.1" };
    const aArgs = ["server-a", "--transport", "http"];
    const aHttp1 = start("server-a (http1)", aArgs, aEnv, "SERVER_A_PORT");
    const aFetch = start("server-a (fetch)", aArgs, {
      ...aEnv,
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "127.0.0.1,localhost",
    }, "SERVER_A_PORT");
    await Promise.all([aHttp1.ready, aFetch.ready]);
    const callHttp1 = await toolCaller(aHttp1.url);
    const callFetch = await toolCaller(aFetch.url);
    await drive(200, 8, callHttp1);
    await drive(200, 8, callFetch);

    const trick: number[] = [];
    const plain: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      options.say(`speed tricks: round ${round + 1} of ${options.rounds}`);
      const [withTrick, withPlain] = await cpuPerCallSideBySide(
        calls,
        [aHttp1.proc, callHttp1],
        [aFetch.proc, callFetch],
      );
      trick.push(withTrick!);
      plain.push(withPlain!);
    }
    const trickUs = median(trick);
    const plainUs = median(plain);
    return [{
      trick: "http1 pool to Server B (vs fetch)",
      path: "Server A tools/call",
      pathUs: trickUs,
      trickUs,
      plainUs,
      share: (plainUs - trickUs) / trickUs,
      how: `Server A's CPU per call, ${calls} calls x ${options.rounds} rounds, both at once`,
    }];
  } finally {
    await Promise.all(procs.map((proc) => proc.stop()));
  }
}
