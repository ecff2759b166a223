/**
 * `deno task bench:against REV`: Server A's 2025-era rows measured for this tree and for the code
 * of git revision REV in the same run, side by side in interleaved rounds, with the same load, the
 * same flags and the same SDK client: throughput (ledger files, memory, SSE answers, stdio),
 * latency, the first streamed delta, cold start, and memory with 1,000 sessions. What changed in the code shows apart from what changed on
 * the machine or in the main bench's set of rows. Prints one table; exits 1 on a bad argument.
 * @module
 */
import { parseArgs } from "node:util";
import { cpuSeconds } from "./_ablations.ts";
import { median, positiveFlag, runWrk } from "./_load.ts";
import { connectStdio, openSession, toolCall } from "./_mcp.ts";
import { coldStart, measureSessions, timeAStream, timeBStream } from "./_probes.ts";
import { baseEnv, freePort, type Proc, ROOT, runToEnd, spawn, waitForPort } from "./_processes.ts";

const HELP = `Usage: deno task bench:against REV [--rounds N] [--seconds S] [--no-memory]

Runs Server A -> Server B (ledger files; both :memory:; MCP_DIRECT_CALLS=false; over stdio), the
relay latency, the first streamed delta and the cold start for this tree and for git revision REV
(e.g. 55bbd73), alternating round by round, then Server A's memory with 1,000 sessions once per
tree, and prints the medians and this tree's ratio to REV. Needs git, wrk and the npm packages of
both trees.`;

const { values: flags, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "4" },
    "no-memory": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help || positionals.length !== 1) {
  Deno.stdout.writeSync(new TextEncoder().encode(`${HELP}\n`));
  Deno.exit(flags.help ? 0 : 1);
}
const REV = positionals[0]!;
let ROUNDS: number, SECONDS: number;
try {
  ROUNDS = positiveFlag("rounds", flags.rounds!);
  SECONDS = positiveFlag("seconds", flags.seconds!);
} catch (error) {
  Deno.stderr.writeSync(new TextEncoder().encode(`bench:against: ${(error as Error).message}\n`));
  Deno.exit(1);
}
const CONNECTIONS = 32;
const STDIO_IN_FLIGHT = 32;
const STDIO_SEQUENTIAL = 100;
const STREAM_SAMPLES = 20;
const COLD_STARTS = 3;
const MEMORY = { sessions: 1000, cycles: 1, idleMinutes: 0.25, afterExpiryMs: 15_000 };
/** Levels within this fraction count as "not slower": the spread between rounds of one row. */
const TOLERANCE = 0.05;
const MESSAGE = "hello";
const PROCESS_BODY = JSON.stringify({ message: MESSAGE });
const A_CALL = JSON.stringify(toolCall(0, "send_message_to_ai", { message: MESSAGE }))
  .replace('"id":0', '"id":{ID}');
const EXPECT = "MOCK RESPONSE";
const IS_ERROR = '"isError":true';

const encoder = new TextEncoder();
const say = (line: string) => Deno.stderr.writeSync(encoder.encode(`${line}\n`));
const print = (line: string) => Deno.stdout.writeSync(encoder.encode(`${line}\n`));
const work = Deno.makeTempDirSync({ prefix: "mcpcomm-against-" });
const procs: Proc[] = [];
const closers: (() => Promise<void>)[] = [];

class BadArgument extends Error {}

/** Writes REV's tree into `dir` (`git archive`), leaving the repository's worktrees alone. */
async function extract(rev: string, dir: string): Promise<string> {
  try {
    await runToEnd("git", ["-C", ROOT, "rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
  } catch {
    throw new BadArgument(`${rev} is not a commit of this repository`);
  }
  Deno.mkdirSync(dir);
  const archive = `${work}/tree.tar`;
  await runToEnd("git", ["-C", ROOT, "archive", "--format=tar", "-o", archive, rev]);
  await runToEnd("tar", ["-xf", archive, "-C", dir]);
  Deno.removeSync(archive);
  return `${dir}/`;
}

interface Side {
  name: string;
  root: string;
  aFile: string;
  aMem: string;
  aSse: string;
  bMem: string;
  fileSessions: string[];
  memSessions: string[];
  sseSessions: string[];
  /** Starts a fresh Server A over HTTP on this tree's in-memory Server B with more settings. */
  startA(label: string, extra: Record<string, string>): Promise<{ proc: Proc; url: string }>;
  /** `deno` arguments and environment that start this tree's Server A over stdio. */
  stdioA: { args: string[]; env: Record<string, string> };
  pids: { aFile: number; bFile: number };
  stdio: Awaited<ReturnType<typeof connectStdio>>;
}

async function startSide(name: string, root: string): Promise<Side> {
  const data = `${work}/${name}-data`;
  const args = (...rest: string[]) => [
    "run",
    "-q",
    "-A",
    "--config",
    `${root}deno.json`,
    "--v8-flags=--max-semi-space-size=4",
    `${root}src/main.ts`,
    ...rest,
  ];
  const env = { LOG_LEVEL: "warn", XDG_DATA_HOME: data, AI_PROVIDER: "mock", MOCK_DELAY_MS: "0" };
  const start = async (
    label: string,
    rest: string[],
    extra: Record<string, string>,
    key: string,
  ) => {
    const port = freePort();
    const proc = spawn(`${name} ${label}`, Deno.execPath(), args(...rest), {
      ...env,
      ...extra,
      [key]: String(port),
    }, work);
    procs.push(proc);
    await waitForPort(proc, port);
    return { proc, url: `http://127.0.0.1:${port}` };
  };
  const bFile = await start("server-b", ["server-b"], { HTTP_HOST: "127.0.0.1" }, "HTTP_PORT");
  const bMem = await start("server-b :memory:", ["server-b"], {
    HTTP_HOST: "127.0.0.1",
    MCPCOMM_DB: ":memory:",
  }, "HTTP_PORT");
  const aArgs = ["server-a", "--transport", "http"];
  const aHost = { SERVER_A_HOST: "127.0.0.1" };
  const aFile = await start(
    "server-a",
    aArgs,
    { ...aHost, SERVER_B_URL: bFile.url },
    "SERVER_A_PORT",
  );
  const startA = (label: string, extra: Record<string, string>) =>
    start(label, aArgs, {
      ...aHost,
      SERVER_B_URL: bMem.url,
      MCPCOMM_DB: ":memory:",
      ...extra,
    }, "SERVER_A_PORT");
  const aMem = await startA("server-a :memory:", {});
  const aSse = await startA("server-a SSE", { MCP_DIRECT_CALLS: "false" });
  const open = (url: string) =>
    Promise.all(Array.from({ length: CONNECTIONS }, () => openSession(`${url}/mcp`)));
  const stdioEnv = { ...env, SERVER_B_URL: bMem.url, MCPCOMM_DB: ":memory:" };
  const stdio = await connectStdio(Deno.execPath(), args("server-a"), {
    ...baseEnv(),
    ...stdioEnv,
    NO_COLOR: "1",
  }, work);
  closers.push(() => stdio.close());
  return {
    name,
    root,
    aFile: `${aFile.url}/mcp`,
    aMem: `${aMem.url}/mcp`,
    aSse: `${aSse.url}/mcp`,
    bMem: bMem.url,
    fileSessions: await open(aFile.url),
    memSessions: await open(aMem.url),
    sseSessions: await open(aSse.url),
    startA,
    stdioA: { args: args("server-a"), env: stdioEnv },
    pids: { aFile: aFile.proc.pid, bFile: bFile.proc.pid },
    stdio,
  };
}

type Measures = Record<string, number[]>;

/** Progress-token calls made so far: each first-delta call gets its own request ID. */
let streamCalls = 0;

async function measure(side: Side, seconds: number, into: Measures): Promise<void> {
  const push = (key: string, value: number) => (into[key] ??= []).push(value);
  const wrk = (url: string, sessions: string[], more = {}) =>
    runWrk({
      url,
      body: A_CALL,
      connections: CONNECTIONS,
      threads: 2,
      seconds,
      sessions,
      expect: EXPECT,
      reject: IS_ERROR,
      ...more,
    });
  const cpu0 = [cpuSeconds(side.pids.aFile), cpuSeconds(side.pids.bFile)];
  const file = await wrk(side.aFile, side.fileSessions);
  push("file", file.rps);
  push("file_cpu_a", ((cpuSeconds(side.pids.aFile) - cpu0[0]!) * 1e6) / file.requests);
  push("file_cpu_b", ((cpuSeconds(side.pids.bFile) - cpu0[1]!) * 1e6) / file.requests);
  push("mem", (await wrk(side.aMem, side.memSessions)).rps);
  push("sse", (await wrk(side.aSse, side.sseSessions)).rps);
  const paced = await wrk(side.aMem, side.memSessions.slice(0, 4), {
    connections: 4,
    threads: 1,
    delayMs: 8,
  });
  push("p50", paced.latencyUs.p50 / 1000);
  const direct = await runWrk({
    url: `${side.bMem}/process`,
    body: PROCESS_BODY,
    connections: 4,
    threads: 1,
    seconds,
    delayMs: 8,
    expect: '"status":"success"',
  });
  push("b_p50", direct.latencyUs.p50 / 1000);
  push("overhead", (paced.latencyUs.p50 - direct.latencyUs.p50) / 1000);
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  let calls = 0;
  await Promise.all(Array.from({ length: STDIO_IN_FLIGHT }, async () => {
    while (performance.now() < until) {
      const answer = await side.stdio.client.callTool({
        name: "send_message_to_ai",
        arguments: { message: MESSAGE },
      });
      if (answer.isError) throw new Error(`${side.name} stdio: ${JSON.stringify(answer)}`);
      calls++;
    }
  }));
  push("stdio", calls / ((performance.now() - started) / 1000));
  const one: number[] = [];
  for (let i = 0; i < STDIO_SEQUENTIAL; i++) {
    const t = performance.now();
    await side.stdio.client.callTool({
      name: "send_message_to_ai",
      arguments: { message: MESSAGE },
    });
    one.push(performance.now() - t);
  }
  push("stdio_p50", median(one));
  const aFirst: number[] = [];
  const bFirst: number[] = [];
  for (let i = 0; i < STREAM_SAMPLES; i++) {
    bFirst.push((await timeBStream(side.bMem, PROCESS_BODY)).first);
    const n = 1_000_000 + streamCalls++;
    aFirst.push((await timeAStream(side.aMem, side.memSessions[0]!, n, MESSAGE)).first);
  }
  push("b_first", median(bFirst));
  push("a_first", median(aFirst));
  const cold: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    cold.push(await coldStart(Deno.execPath(), side.stdioA.args, side.stdioA.env, work));
  }
  push("cold", median(cold));
}

/** Server A's RSS (MB) idle, with 1,000 sessions open, and after they expired. */
async function measureMemory(side: Side, into: Measures): Promise<void> {
  const a = await side.startA("server-a memory", {
    MCP_SESSION_IDLE_MINUTES: String(MEMORY.idleMinutes),
  });
  const { baseline, cycles } = await measureSessions(a, { ...MEMORY, message: MESSAGE });
  await a.proc.stop();
  const mb = (bytes: number) => bytes / 1024 / 1024;
  into.rss_idle = [mb(baseline)];
  into.rss_open = cycles.map((c) => mb(c.open));
  into.rss_expired = cycles.map((c) => mb(c.expired));
}

const ROWS: { key: string; label: string; higherIsBetter: boolean; unit: string }[] = [
  { key: "file", label: "A -> B tools/call, ledger files", higherIsBetter: true, unit: "calls/s" },
  { key: "mem", label: "A -> B tools/call, both :memory:", higherIsBetter: true, unit: "calls/s" },
  { key: "sse", label: "the same, MCP_DIRECT_CALLS=false", higherIsBetter: true, unit: "calls/s" },
  { key: "stdio", label: "A over stdio, one SDK client", higherIsBetter: true, unit: "calls/s" },
  {
    key: "stdio_p50",
    label: "A over stdio, one call at a time",
    higherIsBetter: false,
    unit: "ms",
  },
  { key: "p50", label: "A -> B p50 at 4 x 125/s, :memory:", higherIsBetter: false, unit: "ms" },
  { key: "b_p50", label: "B /process p50 at 4 x 125/s", higherIsBetter: false, unit: "ms" },
  {
    key: "overhead",
    label: "A's relay overhead (p50 A - p50 B)",
    higherIsBetter: false,
    unit: "ms",
  },
  { key: "b_first", label: "first delta from B /stream, p50", higherIsBetter: false, unit: "ms" },
  { key: "a_first", label: "first delta through A, p50", higherIsBetter: false, unit: "ms" },
  { key: "cold", label: "cold start over stdio, deno run", higherIsBetter: false, unit: "ms" },
  { key: "rss_idle", label: "A's RSS idle", higherIsBetter: false, unit: "MB" },
  { key: "rss_open", label: "A's RSS, 1,000 sessions open", higherIsBetter: false, unit: "MB" },
  { key: "rss_expired", label: "A's RSS, sessions expired", higherIsBetter: false, unit: "MB" },
  { key: "file_cpu_a", label: "Server A CPU per call, files", higherIsBetter: false, unit: "us" },
  { key: "file_cpu_b", label: "Server B CPU per call, files", higherIsBetter: false, unit: "us" },
];

try {
  say(`extracting ${REV}`);
  const oldRoot = await extract(REV, `${work}/old`);
  say("starting both pairs");
  const sides = await Promise.all([startSide("this tree", ROOT), startSide(REV, oldRoot)]);
  const results = sides.map(() => ({} as Measures));
  say("warming up");
  for (const side of sides) await measure(side, 1, {});
  for (let round = 0; round < ROUNDS; round++) {
    say(`round ${round + 1} of ${ROUNDS}`);
    const order = round % 2 ? [1, 0] : [0, 1];
    for (const i of order) await measure(sides[i]!, SECONDS, results[i]!);
  }
  if (!flags["no-memory"]) {
    for (const [i, side] of sides.entries()) {
      say(`memory: ${MEMORY.sessions} sessions on a fresh Server A of ${side.name}`);
      await measureMemory(side, results[i]!);
    }
  }
  const fmt = (value: number, unit: string) =>
    unit === "ms"
      ? value.toFixed(3)
      : unit === "MB"
      ? value.toFixed(1)
      : Math.round(value).toLocaleString("en-US");
  print(
    `Server A, this tree vs ${REV}: ${ROUNDS} interleaved rounds x ${SECONDS} s, medians ` +
      `(level = within ${TOLERANCE * 100}%)`,
  );
  let slower = 0;
  for (const row of ROWS) {
    if (!results[0]![row.key]) continue;
    const [now, then] = results.map((r) => median(r[row.key]!));
    const ratio = now! / then!;
    const level = row.higherIsBetter ? ratio >= 1 - TOLERANCE : ratio <= 1 + TOLERANCE;
    if (!level && row.unit !== "us") slower++;
    print(
      `  ${row.label.padEnd(36)} ${fmt(now!, row.unit).padStart(8)} vs ${
        fmt(then!, row.unit).padStart(8)
      } ${row.unit.padEnd(7)} ${ratio.toFixed(2)}x  ${level ? "level or better" : "WORSE"}  [${
        results[0]![row.key]!.map((v) => fmt(v, row.unit)).join(" ")
      } | ${results[1]![row.key]!.map((v) => fmt(v, row.unit)).join(" ")}]`,
    );
  }
  print(slower ? `${slower} row(s) slower than ${REV}` : `no row slower than ${REV}`);
} catch (error) {
  if (!(error instanceof BadArgument)) throw error;
  say(`bench:against: ${error.message}`);
  Deno.exitCode = 1;
} finally {
  for (const close of closers) await close().catch(() => {});
  await Promise.all(procs.map((proc) => proc.stop()));
  Deno.removeSync(work, { recursive: true });
}
