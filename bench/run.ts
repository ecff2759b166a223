/**
 * `deno task bench`: starts everything it measures on loopback, measures side by side in
 * alternating rounds, prints one table of medians and ratios, and writes it as JSON under
 * `bench/results/`. Run `deno task bench --help` for the flags.
 * @module
 */
import { parseArgs } from "node:util";
import { type Ablation, measureAblations } from "./_ablations.ts";
import { callOnce, coldStart, measureSessions, timeAStream, timeBStream } from "./_probes.ts";
import { measureServerBTricks, type ServerBTricks } from "./_server_b_tricks.ts";
import { ensureWrk, median, percentile, positiveFlag, runWrk, type WrkResult } from "./_load.ts";
import {
  closeSession,
  connectStdio,
  modernHeaders,
  modernToolCall,
  openSession,
  toolCall,
} from "./_mcp.ts";
import { postgresSkipReason, startPostgres, type TestPostgres } from "../tests/_postgres.ts";
import {
  baseEnv,
  freePort,
  MAIN,
  type Proc,
  ROOT,
  RUN_FLAGS,
  runToEnd,
  spawn,
  waitForPort,
} from "./_processes.ts";

const HELP = `Usage: deno task bench [flags]

Measures mcpcomm against a bare Deno.serve (the ceiling) and the MCP SDK's Node + express server
(the peer), all started here on loopback; prints one table and writes bench/results/*.json.

Flags:
  --quick           2 short rounds, fewer samples (about a minute)
  --rounds N        alternating rounds per throughput row (default 3)
  --seconds S       seconds per wrk run (default 4)
  --connections C   wrk connections and MCP sessions (default 32)
  --no-memory       skip the 1,000-session memory row
  --ablations       only the speed tricks against their plain code (about 3 minutes; 1 with --quick)
  -h, --help        show this help`;

const encoder = new TextEncoder();
function say(line: string): void {
  Deno.stderr.writeSync(encoder.encode(`${line}\n`));
}
function print(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    seconds: { type: "string" },
    connections: { type: "string" },
    "no-memory": { type: "boolean", default: false },
    ablations: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  print(HELP);
  Deno.exit(0);
}

const QUICK = flags.quick!;
let ROUNDS: number, SECONDS: number, CONNECTIONS: number;
try {
  ROUNDS = positiveFlag("rounds", flags.rounds ?? (QUICK ? "2" : "3"));
  SECONDS = positiveFlag("seconds", flags.seconds ?? (QUICK ? "2" : "4"));
  CONNECTIONS = positiveFlag("connections", flags.connections ?? "32");
} catch (error) {
  Deno.stderr.writeSync(encoder.encode(`bench: ${(error as Error).message}\n`));
  Deno.exit(1);
}
const THREADS = 2;
const LATENCY_CONNECTIONS = 4;
const LATENCY_DELAY_MS = 8;
const TTFB_SAMPLES = QUICK ? 30 : 100;
const STDIO_SEQUENTIAL = QUICK ? 100 : 300;
const STDIO_IN_FLIGHT = 32;
const COLD_STARTS = QUICK ? 3 : 7;
const SESSIONS = 1000;
const SESSION_CYCLES = QUICK ? 1 : 2;
const IDLE_MINUTES = 0.25;
/** When "after they expired" is read: V8 gives memory back about 10 s into an idle spell. */
const AFTER_EXPIRY_MS = 15_000;

const MESSAGE = "hello";
const ECHO_BODY = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "echo",
  params: { message: MESSAGE },
});
const PROCESS_BODY = JSON.stringify({ message: MESSAGE });
const PEER_CALL = JSON.stringify(toolCall(0, "echo", { message: MESSAGE }))
  .replace('"id":0', '"id":{ID}');
const A_CALL = JSON.stringify(toolCall(0, "send_message_to_ai", { message: MESSAGE }))
  .replace('"id":0', '"id":{ID}');
const A_CALL_MODERN = JSON.stringify(
  modernToolCall(0, "send_message_to_ai", { message: MESSAGE }),
).replace('"id":0', '"id":{ID}');
const A_MODERN_HEADERS = modernHeaders("send_message_to_ai");
const A_EXPECT = "MOCK RESPONSE";
const IS_ERROR = '"isError":true';

/**
 * The 2025-era rows of stop 11's table (the README before SDK v2), as ratios to the peers of
 * their own run: issue 14 asks that no 2025-era row gets slower than these.
 */
const STOP_11 = { aVsPeer: 1.69, aMemVsPeer: 2.56, relayOverheadMs: 1.55 };

const procs: Proc[] = [];
const cwd = Deno.makeTempDirSync({ prefix: "mcpcomm-bench-" });
/** Every mcpcomm process: quiet, and its default ledger files in the bench's own directory. */
const MCPCOMM_ENV = { LOG_LEVEL: "warn", XDG_DATA_HOME: cwd };

function denoArgs(...args: string[]): string[] {
  return ["run", ...RUN_FLAGS, MAIN, ...args];
}

function startProc(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Proc {
  const proc = spawn(name, command, args, env, cwd);
  procs.push(proc);
  return proc;
}

/**
 * Starts `deno <args>` listening on a free loopback port, given as the setting `portSetting` or
 * else as the first argument after `args` (then `extra`); `ready` resolves once it accepts.
 */
function startOnPort(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  portSetting?: string,
  extra: string[] = [],
): { proc: Proc; url: string; ready: Promise<void> } {
  const port = freePort();
  const proc = portSetting
    ? startProc(name, Deno.execPath(), [...args, ...extra], { ...env, [portSetting]: String(port) })
    : startProc(name, Deno.execPath(), [...args, String(port), ...extra], env);
  return { proc, url: `http://127.0.0.1:${port}`, ready: waitForPort(proc, port) };
}

/** The PostgreSQL the bench started for its PostgreSQL row, if it could. */
let postgresServer: TestPostgres | undefined;

async function stopAll(): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
  await postgresServer?.stop();
  postgresServer = undefined;
}

async function ensurePeerInstalled(): Promise<void> {
  const dir = `${ROOT}bench/peers`;
  let installed = 0;
  let locked = 0;
  try {
    installed = Deno.statSync(`${dir}/node_modules/.package-lock.json`).mtime?.getTime() ?? 0;
    locked = Deno.statSync(`${dir}/package-lock.json`).mtime?.getTime() ?? 0;
  } catch {
    installed = 0;
  }
  if (installed && installed >= locked) return;
  say("installing the Node peer (npm ci in bench/peers)");
  await runToEnd("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir });
}

async function serverAAvailable(): Promise<boolean> {
  try {
    await runToEnd(Deno.execPath(), denoArgs("server-a", "--help"), { env: baseEnv() });
    return true;
  } catch {
    return false;
  }
}

async function postJson(url: string, body: string): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (!response.ok) {
    throw new Error(`POST ${url}: HTTP ${response.status} ${await response.text()}`);
  }
  return await response.json();
}

interface Row {
  section: string;
  name: string;
  generator: string;
  value: number;
  unit: string;
  extra?: string;
  ratio?: string;
  rounds?: number[] | undefined;
}

interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a";
const ms = (us: number) => us / 1000;

/**
 * The ablation rows, and a target per trick: it saves at least 5% of its path's CPU, or gains at
 * least 5% of Server B's throughput (or CPU per request) end to end.
 */
async function measureTricks(
  rows: Row[],
  targets: Target[],
): Promise<{ ablations: Ablation[]; serverB: ServerBTricks }> {
  say("measuring each speed trick against its plain code");
  const serverB = await measureServerBTricks({
    quick: QUICK,
    rounds: ROUNDS,
    seconds: SECONDS,
    connections: CONNECTIONS,
    cwd,
    say,
  });
  serverBTrickRows(serverB, rows, targets);
  const ablations = await measureAblations({ quick: QUICK, rounds: ROUNDS, cwd, say });
  for (const a of ablations) {
    rows.push({
      section: "speed tricks (CPU saved, share of the path's)",
      name: a.trick,
      generator: a.how,
      value: a.share * 100,
      unit: "%",
      ratio: `${fmt(a.plainUs, 2)} us plain vs ${fmt(a.trickUs, 2)} us`,
      extra: `${a.path}: ${fmt(a.pathUs, 1)} us CPU per request`,
    });
    if (a.control) continue;
    targets.push({
      name: a.trick,
      goal: ">= 5% of the path's CPU saved",
      measured: `${fmt(a.share * 100, 1)}% of ${a.path}`,
      met: a.share >= 0.05,
    });
  }
  return { ablations, serverB };
}

/** Rows and targets of Server B's `POST /process` with and without its speed tricks. */
function serverBTrickRows(b: ServerBTricks, rows: Row[], targets: Target[]): void {
  const section = "speed tricks, Server B POST /process end to end (mock, :memory:)";
  const cpu = (us: number, rounds: number[]) =>
    `${fmt(us, 1)} us CPU per request; rounds ${rounds.map((r) => fmt(r / 1000, 1)).join(" ")}k`;
  rows.push({
    section,
    name: "all tricks",
    generator: b.how,
    value: b.tricks.rps,
    unit: "req/s",
    ratio: "1.00x",
    extra: cpu(b.tricks.cpuUs, b.tricks.rounds),
    rounds: b.tricks.rounds,
  }, {
    section,
    name: "all tricks, modules copied in through an import map (control)",
    generator: b.how,
    value: b.control.rps,
    unit: "req/s",
    ratio: `${(b.control.rps / b.tricks.rps).toFixed(2)}x`,
    extra: cpu(b.control.cpuUs, b.control.rounds),
    rounds: b.control.rounds,
  }, {
    section,
    name: "all plain",
    generator: b.how,
    value: b.plain.rps,
    unit: "req/s",
    ratio: `${(b.plain.rps / b.tricks.rps).toFixed(2)}x; tricks gain ${
      fmt((b.tricks.rps / b.plain.rps - 1) * 100, 1)
    }%`,
    extra: cpu(b.plain.cpuUs, b.plain.rounds),
    rounds: b.plain.rounds,
  });
  for (const without of b.without) {
    const gain = b.tricks.rps / without.rps - 1;
    const cpuSaved = 1 - b.tricks.cpuUs / without.cpuUs;
    rows.push({
      section,
      name: `only ${without.name}`,
      generator: b.how,
      value: without.rps,
      unit: "req/s",
      ratio: `${(without.rps / b.tricks.rps).toFixed(2)}x; trick gains ${fmt(gain * 100, 1)}%`,
      extra: cpu(without.cpuUs, without.rounds),
      rounds: without.rounds,
    });
    targets.push({
      name: `${without.trick!.name} (vs ${without.trick!.plainName}), Server B`,
      goal: ">= 5% of Server B's req/s gained (or CPU per request saved)",
      measured: `${fmt(gain * 100, 1)}% req/s, ${fmt(cpuSaved * 100, 1)}% CPU per request`,
      met: gain >= 0.05 || cpuSaved >= 0.05,
    });
  }
}

async function main(): Promise<number> {
  const startedAt = new Date();
  if (flags.ablations) {
    const rows: Row[] = [];
    const targets: Target[] = [];
    await measureTricks(rows, targets);
    printTable(
      `mcpcomm bench ablations ${startedAt.toISOString()}${QUICK ? " (quick)" : ""}`,
      rows,
      targets,
    );
    return 0;
  }
  await ensureWrk(say);
  await ensurePeerInstalled();
  const withA = await serverAAvailable();
  if (!withA) say("server-a is not available yet: its rows are left out");

  const wrkVersion = new TextDecoder().decode(
    (await new Deno.Command("wrk", { args: ["-v"], stdout: "piped", stderr: "piped" }).output())
      .stdout,
  ).split("\n")[0] ?? "";
  const nodeVersion = (await runToEnd("node", ["--version"])).trim();

  const noPostgres = await postgresSkipReason();
  if (noPostgres) say(`no PostgreSQL row: ${noPostgres}`);
  else {
    say("starting PostgreSQL (fsync on) for the PostgreSQL row");
    postgresServer = await startPostgres({ durable: true });
  }
  say("starting the ceiling, the Node peer and Server B");
  const ceiling = startOnPort("ceiling", ["run", "--allow-net", `${ROOT}bench/ceiling.ts`]);
  const peer = startProc("node peer", "node", [`${ROOT}bench/peers/server.mjs`, "0"]);
  const denoSdk = startOnPort("SDK on Deno", [
    "run",
    "-q",
    "--allow-net",
    "--config",
    `${ROOT}deno.json`,
    `${ROOT}bench/peers/deno_sdk_echo.ts`,
  ]);
  const bEnv = {
    ...MCPCOMM_ENV,
    HTTP_HOST: "127.0.0.1",
    AI_PROVIDER: "mock",
    MOCK_DELAY_MS: "0",
  };
  const serverB = (name: string, env: Record<string, string>) =>
    startOnPort(name, denoArgs("server-b"), { ...bEnv, ...env }, "HTTP_PORT");
  const b = serverB("server-b", {});
  const bMem = serverB("server-b (memory ledger)", { MCPCOMM_DB: ":memory:" });
  const bGuarded = serverB("server-b (memory ledger, on 0.0.0.0 behind the connection guard)", {
    MCPCOMM_DB: ":memory:",
    HTTP_HOST: "0.0.0.0",
  });
  const bNormal = serverB("server-b (ledger file, MCPCOMM_DB_SYNC=normal)", {
    MCPCOMM_DB: `${cwd}/server-b-normal.db`,
    MCPCOMM_DB_SYNC: "normal",
  });
  const bPg = postgresServer
    ? serverB("server-b (ledger on PostgreSQL)", {
      MCPCOMM_DB: await postgresServer.database("bench"),
    })
    : undefined;
  const peerPort = Number((await peer.waitForLine(/^listening \d+/)).split(" ")[1]);
  await Promise.all(
    [ceiling, denoSdk, b, bMem, bGuarded, bNormal, bPg].map((started) => started?.ready),
  );
  const ceilingUrl = `${ceiling.url}/`;
  const peerUrl = `http://127.0.0.1:${peerPort}/mcp`;
  const denoSdkUrl = `${denoSdk.url}/mcp`;
  const bUrl = b.url;
  const bMemUrl = bMem.url;
  const bNormalUrl = bNormal.url;
  const bPgUrl = bPg?.url;
  const bGuardedUrl = bGuarded.url;
  const relayFloor = startOnPort(
    "relay floor",
    [
      "run",
      "--allow-net",
      `${ROOT}bench/relay_floor.ts`,
    ],
    {},
    undefined,
    [bMemUrl],
  );
  await relayFloor.ready;
  const relayFloorUrl = relayFloor.url;

  const aEnv = {
    ...MCPCOMM_ENV,
    SERVER_B_URL: bUrl,
    SERVER_A_HOST: "127.0.0.1",
  };
  const aMemEnv = { ...aEnv, SERVER_B_URL: bMemUrl, MCPCOMM_DB: ":memory:" };
  let aUrl = "";
  let aMemUrl = "";
  let aSseUrl = "";
  if (withA) {
    const serverA = (name: string, env: Record<string, string>) =>
      startOnPort(name, denoArgs("server-a", "--transport", "http"), env, "SERVER_A_PORT");
    const a = serverA("server-a", aEnv);
    const aMem = serverA("server-a (memory ledgers)", aMemEnv);
    const aSse = serverA("server-a (memory ledgers, MCP_DIRECT_CALLS=false)", {
      ...aMemEnv,
      MCP_DIRECT_CALLS: "false",
    });
    await Promise.all([a.ready, aMem.ready, aSse.ready]);
    aUrl = `${a.url}/mcp`;
    aMemUrl = `${aMem.url}/mcp`;
    aSseUrl = `${aSse.url}/mcp`;
  }

  say("checking every target answers correctly");
  const echo = await postJson(ceilingUrl, ECHO_BODY) as { result?: unknown };
  if (!echo.result) throw new Error(`ceiling answered ${JSON.stringify(echo)}`);
  for (const url of [bUrl, bMemUrl, bGuardedUrl, bNormalUrl, ...bPgUrl ? [bPgUrl] : []]) {
    const processed = await postJson(`${url}/process`, PROCESS_BODY) as { status?: string };
    if (processed.status !== "success") throw new Error(`/process answered ${processed}`);
  }
  const peerSessions = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => openSession(peerUrl)),
  );
  const denoSdkSessions = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => openSession(denoSdkUrl)),
  );
  for (const [url, sid] of [[peerUrl, peerSessions[0]!], [denoSdkUrl, denoSdkSessions[0]!]]) {
    const text = await callOnce(url!, sid!, "echo", { message: MESSAGE });
    if (!text.includes(MESSAGE)) throw new Error(`echo at ${url} answered ${text}`);
  }
  let aSessions: string[] = [];
  let aMemSessions: string[] = [];
  let aSseSessions: string[] = [];
  if (withA) {
    const open = () => Promise.all(Array.from({ length: CONNECTIONS }, () => openSession(aUrl)));
    aSessions = await open();
    aMemSessions = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => openSession(aMemUrl)),
    );
    aSseSessions = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => openSession(aSseUrl)),
    );
    for (
      const [url, sid] of [
        [aUrl, aSessions[0]!],
        [aMemUrl, aMemSessions[0]!],
        [aSseUrl, aSseSessions[0]!],
      ]
    ) {
      const text = await callOnce(url!, sid!, "send_message_to_ai", { message: MESSAGE });
      if (!text.includes(A_EXPECT)) throw new Error(`send_message_to_ai answered ${text}`);
    }
  }

  let stdio: Awaited<ReturnType<typeof connectStdio>> | undefined;
  if (withA) {
    stdio = await connectStdio(Deno.execPath(), denoArgs("server-a"), {
      ...baseEnv(),
      ...aMemEnv,
      NO_COLOR: "1",
    }, cwd);
    const answer = await stdio.client.callTool({
      name: "send_message_to_ai",
      arguments: { message: MESSAGE },
    });
    if (answer.isError) throw new Error(`stdio send_message_to_ai: ${JSON.stringify(answer)}`);
  }

  const wrkBase = { connections: CONNECTIONS, threads: THREADS, seconds: SECONDS };
  type Load = { key: string; run: (seconds: number) => Promise<number> };
  const wrkLoad = (key: string, options: Parameters<typeof runWrk>[0]): Load => ({
    key,
    run: async (seconds) => (await runWrk({ ...options, seconds })).rps,
  });
  const loads: Load[] = [
    wrkLoad("ceiling", { ...wrkBase, url: ceilingUrl, body: ECHO_BODY }),
    wrkLoad("peer", {
      ...wrkBase,
      url: peerUrl,
      body: PEER_CALL,
      sessions: peerSessions,
      expect: `Echo: ${MESSAGE}`,
      reject: IS_ERROR,
    }),
    wrkLoad("deno_sdk", {
      ...wrkBase,
      url: denoSdkUrl,
      body: PEER_CALL,
      sessions: denoSdkSessions,
      expect: `Echo: ${MESSAGE}`,
      reject: IS_ERROR,
    }),
    wrkLoad("b_process", { ...wrkBase, url: `${bUrl}/process`, body: PROCESS_BODY }),
    wrkLoad("b_process_mem", { ...wrkBase, url: `${bMemUrl}/process`, body: PROCESS_BODY }),
    wrkLoad("b_process_guarded", {
      ...wrkBase,
      url: `${bGuardedUrl}/process`,
      body: PROCESS_BODY,
    }),
    wrkLoad("b_process_normal", {
      ...wrkBase,
      url: `${bNormalUrl}/process`,
      body: PROCESS_BODY,
    }),
  ];
  if (bPgUrl) {
    loads.push(
      wrkLoad("b_process_pg", { ...wrkBase, url: `${bPgUrl}/process`, body: PROCESS_BODY }),
    );
  }
  if (withA) {
    loads.push(wrkLoad("a_http", {
      ...wrkBase,
      url: aUrl,
      body: A_CALL,
      sessions: aSessions,
      expect: A_EXPECT,
      reject: IS_ERROR,
    }));
    loads.push(wrkLoad("a_http_mem", {
      ...wrkBase,
      url: aMemUrl,
      body: A_CALL,
      sessions: aMemSessions,
      expect: A_EXPECT,
      reject: IS_ERROR,
    }));
    loads.push(wrkLoad("a_modern", {
      ...wrkBase,
      url: aMemUrl,
      body: A_CALL_MODERN,
      headers: A_MODERN_HEADERS,
      expect: A_EXPECT,
      reject: IS_ERROR,
    }));
    loads.push(wrkLoad("a_http_sse", {
      ...wrkBase,
      url: aSseUrl,
      body: A_CALL,
      sessions: aSseSessions,
      expect: A_EXPECT,
      reject: IS_ERROR,
    }));
    const client = stdio!.client;
    loads.push({
      key: "a_stdio",
      run: async (seconds) => {
        const until = performance.now() + seconds * 1000;
        let calls = 0;
        const started = performance.now();
        await Promise.all(Array.from({ length: STDIO_IN_FLIGHT }, async () => {
          while (performance.now() < until) {
            const answer = await client.callTool({
              name: "send_message_to_ai",
              arguments: { message: MESSAGE },
            });
            if (answer.isError) throw new Error(`stdio call failed: ${JSON.stringify(answer)}`);
            calls++;
          }
        }));
        return calls / ((performance.now() - started) / 1000);
      },
    });
  }

  const latencyLoads: { key: string; run: () => Promise<WrkResult> }[] = [
    {
      key: "b_process",
      run: () =>
        runWrk({
          url: `${bMemUrl}/process`,
          body: PROCESS_BODY,
          connections: LATENCY_CONNECTIONS,
          threads: 1,
          seconds: SECONDS,
          delayMs: LATENCY_DELAY_MS,
          expect: '"status":"success"',
        }),
    },
  ];
  latencyLoads.push({
    key: "relay_floor",
    run: () =>
      runWrk({
        url: `${relayFloorUrl}/process`,
        body: PROCESS_BODY,
        connections: LATENCY_CONNECTIONS,
        threads: 1,
        seconds: SECONDS,
        delayMs: LATENCY_DELAY_MS,
        expect: '"status":"success"',
      }),
  });
  if (withA) {
    const relayLoad = (key: string, url: string, sessions: string[]) => ({
      key,
      run: () =>
        runWrk({
          url,
          body: A_CALL,
          connections: LATENCY_CONNECTIONS,
          threads: 1,
          seconds: SECONDS,
          delayMs: LATENCY_DELAY_MS,
          sessions: sessions.slice(0, LATENCY_CONNECTIONS),
          expect: A_EXPECT,
          reject: IS_ERROR,
        }),
    });
    latencyLoads.push(relayLoad("a_http", aMemUrl, aMemSessions));
    latencyLoads.push(relayLoad("a_http_sse", aSseUrl, aSseSessions));
    latencyLoads.push({
      key: "a_modern",
      run: () =>
        runWrk({
          url: aMemUrl,
          body: A_CALL_MODERN,
          headers: A_MODERN_HEADERS,
          connections: LATENCY_CONNECTIONS,
          threads: 1,
          seconds: SECONDS,
          delayMs: LATENCY_DELAY_MS,
          expect: A_EXPECT,
          reject: IS_ERROR,
        }),
    });
  }

  say("warming up");
  for (const load of loads) await load.run(1);

  const throughput: Record<string, number[]> = {};
  const latency: Record<string, WrkResult[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    say(`round ${round + 1} of ${ROUNDS}`);
    const order = [...loads.slice(round % loads.length), ...loads.slice(0, round % loads.length)];
    for (const load of order) {
      const rps = await load.run(SECONDS);
      (throughput[load.key] ??= []).push(rps);
      say(`  ${load.key.padEnd(10)} ${fmt(rps)} req/s`);
    }
    const latencyOrder = round % 2 ? [...latencyLoads].reverse() : latencyLoads;
    for (const load of latencyOrder) {
      const result = await load.run();
      (latency[load.key] ??= []).push(result);
      say(
        `  ${load.key.padEnd(10)} p50 ${ms(result.latencyUs.p50).toFixed(3)} ms, p99 ${
          ms(result.latencyUs.p99).toFixed(3)
        } ms at ${fmt(result.rps)} req/s`,
      );
    }
  }

  say("time to first streamed delta");
  const ttfb: Record<string, { first: number[]; total: number[] }> = {
    b_stream: { first: [], total: [] },
    a_progress: { first: [], total: [] },
  };
  await timeBStream(bMemUrl, PROCESS_BODY);
  if (withA) await timeAStream(aMemUrl, aMemSessions[0]!, 1_000_000, MESSAGE);
  for (let i = 0; i < TTFB_SAMPLES; i++) {
    const b = await timeBStream(bMemUrl, PROCESS_BODY);
    ttfb.b_stream!.first.push(b.first);
    ttfb.b_stream!.total.push(b.total);
    if (withA) {
      const a = await timeAStream(
        aMemUrl,
        aMemSessions[i % aMemSessions.length]!,
        1_000_001 + i,
        MESSAGE,
      );
      ttfb.a_progress!.first.push(a.first);
      ttfb.a_progress!.total.push(a.total);
    }
  }

  const stdioLatency: number[] = [];
  if (stdio) {
    say("stdio per-call latency");
    for (let i = 0; i < STDIO_SEQUENTIAL; i++) {
      const started = performance.now();
      await stdio.client.callTool({ name: "send_message_to_ai", arguments: { message: MESSAGE } });
      stdioLatency.push(performance.now() - started);
    }
    await stdio.close();
  }
  for (const sid of peerSessions) await closeSession(peerUrl, sid);
  for (const sid of denoSdkSessions) await closeSession(denoSdkUrl, sid);
  for (const sid of aSessions) await closeSession(aUrl, sid);
  for (const sid of aMemSessions) await closeSession(aMemUrl, sid);

  const cold: Record<string, number[]> = {};
  say("cold start over stdio");
  const floorArgs = ["run", `${ROOT}bench/stdio_floor.ts`];
  const aArgs = denoArgs("server-a");
  const compiled = `${ROOT}dist/mcpcomm-${Deno.build.target}`;
  let hasCompiled = false;
  try {
    hasCompiled = Deno.statSync(compiled).isFile;
  } catch {
    hasCompiled = false;
  }
  await coldStart(Deno.execPath(), floorArgs, {}, cwd);
  if (withA) await coldStart(Deno.execPath(), aArgs, aEnv, cwd);
  for (let i = 0; i < COLD_STARTS; i++) {
    (cold.floor ??= []).push(await coldStart(Deno.execPath(), floorArgs, {}, cwd));
    if (withA) {
      (cold.a_deno_run ??= []).push(await coldStart(Deno.execPath(), aArgs, aEnv, cwd));
    }
    if (withA && hasCompiled) {
      (cold.a_compiled ??= []).push(await coldStart(compiled, ["server-a"], aEnv, cwd));
    }
  }

  let memory: Awaited<ReturnType<typeof measureSessions>> | undefined;
  if (withA && !flags["no-memory"]) {
    say(`memory: ${SESSIONS} sessions on a fresh Server A (idle expiry ${IDLE_MINUTES * 60} s)`);
    const serverA = startOnPort(
      "server-a (memory)",
      denoArgs("server-a", "--transport", "http"),
      { ...aEnv, MCP_SESSION_IDLE_MINUTES: String(IDLE_MINUTES) },
      "SERVER_A_PORT",
    );
    await serverA.ready;
    memory = await measureSessions(serverA, {
      sessions: SESSIONS,
      cycles: SESSION_CYCLES,
      idleMinutes: IDLE_MINUTES,
      afterExpiryMs: AFTER_EXPIRY_MS,
      message: MESSAGE,
    });
    await serverA.proc.stop();
  }

  await stopAll();

  const rows: Row[] = [];
  const targets: Target[] = [];
  const med = (key: string) => median(throughput[key] ?? []);
  const ceilingRps = med("ceiling");
  const peerRps = med("peer");
  const bRps = med("b_process");
  const aRps = med("a_http");
  const wrkGen = `wrk -t${THREADS} -c${CONNECTIONS}`;
  /** Adds the throughput row of load `key` (MCP loads run one session per connection). */
  const throughputRow = (key: string, name: string, ratio: string, mcp = false) =>
    rows.push({
      section: "throughput",
      name,
      generator: mcp ? `${wrkGen}, ${CONNECTIONS} sessions` : wrkGen,
      value: med(key),
      unit: mcp ? "calls/s" : "req/s",
      ratio,
      rounds: throughput[key],
    });
  const x = (value: number, of: number, digits = 2) => `${(value / of).toFixed(digits)}x`;
  throughputRow("ceiling", "ceiling: bare Deno.serve JSON-RPC echo", "1.00x ceiling");
  throughputRow(
    "peer",
    "peer: SDK Node+express Streamable HTTP, echo tool",
    `${x(peerRps, ceilingRps, 3)} ceiling`,
    true,
  );
  const denoSdkRps = med("deno_sdk");
  throughputRow(
    "deno_sdk",
    "SDK web-standard transport on Deno.serve, echo tool",
    `${x(denoSdkRps, peerRps)} peer`,
    true,
  );
  throughputRow(
    "b_process",
    "Server B POST /process (mock, default ledger file)",
    `${x(bRps, ceilingRps)} ceiling`,
  );
  throughputRow(
    "b_process_mem",
    "Server B POST /process, MCPCOMM_DB=:memory:",
    `${x(med("b_process_mem"), ceilingRps)} ceiling`,
  );
  throughputRow(
    "b_process_guarded",
    "the same on 0.0.0.0, behind the connection guard (READ_TIMEOUT_SECONDS, MAX_CONNECTIONS_PER_ADDRESS)",
    `${x(med("b_process_guarded"), med("b_process_mem"))} unguarded`,
  );
  throughputRow(
    "b_process_normal",
    "Server B POST /process, ledger file with MCPCOMM_DB_SYNC=normal",
    `${x(med("b_process_normal"), ceilingRps)} ceiling`,
  );
  if (throughput.b_process_pg) {
    throughputRow(
      "b_process_pg",
      "Server B POST /process, ledger on PostgreSQL (local, fsync on)",
      `${x(med("b_process_pg"), bRps)} SQLite file`,
    );
  }
  targets.push({
    name: "Server B /process vs ceiling",
    goal: ">= 0.40x",
    measured: x(bRps, ceilingRps),
    met: bRps / ceilingRps >= 0.4,
  });
  if (withA) {
    const aMemRps = med("a_http_mem");
    const aSseRps = med("a_http_sse");
    throughputRow(
      "a_http",
      "Server A tools/call send_message_to_ai -> B (HTTP)",
      `${x(aRps, peerRps)} peer, ${x(aRps, bRps)} B direct`,
      true,
    );
    throughputRow(
      "a_http_mem",
      "Server A tools/call -> B, both MCPCOMM_DB=:memory: (HTTP)",
      `${x(aMemRps, peerRps)} peer, ${x(aMemRps, denoSdkRps)} SDK on Deno`,
      true,
    );
    throughputRow(
      "a_http_sse",
      "the same with MCP_DIRECT_CALLS=false (answers over SSE)",
      `${x(aSseRps, peerRps)} peer; direct answers ${x(aMemRps, aSseRps)} this`,
      true,
    );
    throughputRow(
      "a_modern",
      "2026-07-28 tools/call through Server A -> B, :memory: (HTTP, no session)",
      `${x(med("a_modern"), aMemRps)} the 2025 session row`,
    );
    targets.push({
      name: "Through A (two hops) vs Node peer (one hop)",
      goal: ">= 2.0x",
      measured: `${x(aRps, peerRps)} (ledger files), ${
        x(aMemRps, peerRps)
      } (both with MCPCOMM_DB=:memory:)`,
      met: aRps / peerRps >= 2,
    });
    targets.push({
      name: "2025 era, A -> B (ledger files) vs Node peer, as in stop 11",
      goal: `>= ${STOP_11.aVsPeer.toFixed(2)}x`,
      measured: x(aRps, peerRps),
      met: aRps / peerRps >= STOP_11.aVsPeer,
    });
    targets.push({
      name: "2025 era, A -> B (both :memory:) vs Node peer, as in stop 11",
      goal: `>= ${STOP_11.aMemVsPeer.toFixed(2)}x`,
      measured: x(aMemRps, peerRps),
      met: aMemRps / peerRps >= STOP_11.aMemVsPeer,
    });
    const stdioRps = med("a_stdio");
    rows.push({
      section: "throughput",
      name: "Server A tools/call -> B, :memory: (stdio, one SDK client)",
      generator: `SDK Client, ${STDIO_IN_FLIGHT} in flight`,
      value: stdioRps,
      unit: "calls/s",
      ratio: `${x(stdioRps, aMemRps)} A over HTTP`,
      rounds: throughput.a_stdio,
      extra: `sequential: p50 ${percentile(stdioLatency, 50).toFixed(3)} ms, p99 ${
        percentile(stdioLatency, 99).toFixed(3)
      } ms (${stdioLatency.length} calls)`,
    });
  }

  const latencyMedian = (key: string, p: "p50" | "p99") =>
    median((latency[key] ?? []).map((r) => r.latencyUs[p])) / 1000;
  const latencyGen =
    `wrk -t1 -c${LATENCY_CONNECTIONS}, ${LATENCY_DELAY_MS} ms pause per connection`;
  /** Adds the latency row of load `key`; for a relay, returns its overhead over B direct. */
  const latencyRow = (key: string, name: string, floor?: number) => {
    const p50 = latencyMedian(key, "p50");
    const overhead = p50 - latencyMedian("b_process", "p50");
    const overFloor = floor === undefined
      ? ""
      : `, ${(overhead - floor).toFixed(3)} ms over the floor`;
    const rate = median((latency[key] ?? []).map((r) => r.rps));
    rows.push({
      section: "latency at fixed load",
      name,
      generator: latencyGen,
      value: p50,
      unit: "ms p50",
      extra: `p99 ${latencyMedian(key, "p99").toFixed(3)} ms at ${fmt(rate)} req/s`,
      ...(key === "b_process"
        ? {}
        : { ratio: `relay overhead p50 +${overhead.toFixed(3)} ms${overFloor}` }),
    });
    return overhead;
  };
  latencyRow("b_process", "Server B POST /process direct (MCPCOMM_DB=:memory:)");
  const floorOverhead = latencyRow(
    "relay_floor",
    "floor: a 10-line Deno relay to that Server B (bench/relay_floor.ts)",
  );
  if (withA) {
    const overhead = latencyRow(
      "a_http",
      "Server A tools/call -> that Server B (A :memory: too)",
      floorOverhead,
    );
    latencyRow(
      "a_http_sse",
      "the same with MCP_DIRECT_CALLS=false (answers over SSE)",
      floorOverhead,
    );
    const modernOverhead = latencyRow(
      "a_modern",
      "2026-07-28 tools/call through Server A (no session, A :memory: too)",
      floorOverhead,
    );
    targets.push({
      name: "Relay overhead of Server A at p50, 2026-07-28 over the bare relay",
      goal: "< 1 ms",
      measured: `${(modernOverhead - floorOverhead).toFixed(3)} ms (${
        modernOverhead.toFixed(3)
      } ms over B direct; a bare relay: ${floorOverhead.toFixed(3)} ms)`,
      met: modernOverhead - floorOverhead < 1,
    });
    targets.push({
      name: "Relay overhead of Server A at p50",
      goal: "< 1 ms",
      measured: `${overhead.toFixed(3)} ms (a bare relay: ${floorOverhead.toFixed(3)} ms)`,
      met: overhead < 1,
    });
    targets.push({
      name: "2025 era relay overhead of Server A at p50, as in stop 11",
      goal: `<= ${STOP_11.relayOverheadMs.toFixed(2)} ms`,
      measured: `${overhead.toFixed(3)} ms (${
        (overhead - floorOverhead).toFixed(3)
      } ms over the bare relay)`,
      met: overhead <= STOP_11.relayOverheadMs,
    });
  }

  const ttfbGen = `Deno fetch + eventsource-parser, ${TTFB_SAMPLES} sequential`;
  rows.push({
    section: "first streamed delta",
    name: "Server B POST /stream (:memory:): first SSE text event",
    generator: ttfbGen,
    value: median(ttfb.b_stream!.first),
    unit: "ms p50",
    extra: `p90 ${percentile(ttfb.b_stream!.first, 90).toFixed(3)} ms; whole answer ${
      median(ttfb.b_stream!.total).toFixed(3)
    } ms`,
  });
  if (withA) {
    const gap = median(ttfb.a_progress!.first) - median(ttfb.b_stream!.first);
    rows.push({
      section: "first streamed delta",
      name: "Server A -> that B: first progress notification",
      generator: ttfbGen,
      value: median(ttfb.a_progress!.first),
      unit: "ms p50",
      extra: `p90 ${percentile(ttfb.a_progress!.first, 90).toFixed(3)} ms; whole answer ${
        median(ttfb.a_progress!.total).toFixed(3)
      } ms`,
      ratio: `+${gap.toFixed(3)} ms vs B`,
    });
    targets.push({
      name: "First delta through A vs from B",
      goal: "within 5 ms",
      measured: Number.isFinite(gap) ? `+${gap.toFixed(3)} ms` : "no progress notifications",
      met: Number.isFinite(gap) ? gap <= 5 : false,
    });
  }

  const coldGen = `spawn, initialize on stdin, ${COLD_STARTS} runs`;
  rows.push({
    section: "cold start over stdio",
    name: "floor: deno run of a 5-line stdio answerer",
    generator: coldGen,
    value: median(cold.floor ?? []),
    unit: "ms p50",
    rounds: cold.floor,
  });
  if (withA) {
    const coldA = median(cold.a_deno_run ?? []);
    rows.push({
      section: "cold start over stdio",
      name: "Server A: deno run src/main.ts server-a",
      generator: coldGen,
      value: coldA,
      unit: "ms p50",
      rounds: cold.a_deno_run,
      ratio: `+${(coldA - median(cold.floor ?? [])).toFixed(1)} ms over the floor`,
    });
    let best = coldA;
    if (cold.a_compiled) {
      const coldC = median(cold.a_compiled);
      best = Math.min(best, coldC);
      rows.push({
        section: "cold start over stdio",
        name: `Server A: compiled dist/mcpcomm-${Deno.build.target} server-a`,
        generator: coldGen,
        value: coldC,
        unit: "ms p50",
        rounds: cold.a_compiled,
      });
    }
    targets.push({
      name: "Cold start over stdio (median)",
      goal: "< 300 ms",
      measured: `${coldA.toFixed(1)} ms (deno run)${
        cold.a_compiled ? `, ${median(cold.a_compiled).toFixed(1)} ms (compiled)` : ""
      }`,
      met: best < 300,
    });
  }

  if (memory) {
    const mib = (n: number) => n / (1024 * 1024);
    const { baseline, cycles } = memory;
    rows.push({
      section: "memory (Server A RSS)",
      name: "idle, after one call",
      generator: "/proc/PID/status VmRSS",
      value: mib(baseline),
      unit: "MiB",
    });
    cycles.forEach((cycle, i) => {
      const nth = i === 0 ? "" : ` (round ${i + 1})`;
      rows.push({
        section: "memory (Server A RSS)",
        name: `${SESSIONS} open sessions${nth}`,
        generator: "Deno fetch, 16 at a time",
        value: mib(cycle.open),
        unit: "MiB",
        extra: `opened in ${cycle.openSeconds.toFixed(1)} s`,
        ratio: `+${mib(cycle.open - baseline).toFixed(1)} MiB over idle`,
      });
      rows.push({
        section: "memory (Server A RSS)",
        name: `after they expired${nth}`,
        generator: `MCP_SESSION_IDLE_MINUTES=${IDLE_MINUTES}`,
        value: mib(cycle.expired),
        unit: "MiB",
        extra: `read ${AFTER_EXPIRY_MS / 1000} s after they expired (${
          mib(cycle.soon).toFixed(1)
        } MiB at 3 s), ${cycle.expiredAfterSeconds.toFixed(1)} s after the last was opened`,
        ratio: `+${mib(cycle.expired - baseline).toFixed(1)} MiB over idle`,
      });
    });
    const peak = Math.max(...cycles.map((c) => c.open));
    const last = cycles[cycles.length - 1]!;
    const growth = peak - baseline;
    const nearBaseline = last.expired - baseline <= Math.max(0.25 * growth, 16 * 1024 * 1024);
    targets.push({
      name: `${SESSIONS} sessions on Server A`,
      goal: "< 256 MiB RSS, back near baseline",
      measured: `${mib(peak).toFixed(1)} MiB open, ${
        cycles.map((c) => mib(c.expired).toFixed(1)).join(" then ")
      } MiB after expiry (idle ${mib(baseline).toFixed(1)} MiB)`,
      met: peak < 256 * 1024 * 1024 && nearBaseline,
    });
  }

  const { ablations, serverB: serverBTricks } = await measureTricks(rows, targets);

  const header = `mcpcomm bench ${startedAt.toISOString()} | deno ${Deno.version.deno}, node ${
    nodeVersion.replace(/^v/, "")
  }, ${
    wrkVersion.split(" ").slice(0, 2).join(" ")
  }, ${navigator.hardwareConcurrency} cpus | ${ROUNDS} rounds x ${SECONDS} s${
    QUICK ? " (quick)" : ""
  }`;
  printTable(header, rows, targets);

  const result = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      node: nodeVersion,
      wrk: wrkVersion,
      cpus: navigator.hardwareConcurrency,
      os: `${Deno.build.os} ${Deno.build.arch}`,
    },
    options: {
      quick: QUICK,
      rounds: ROUNDS,
      seconds: SECONDS,
      connections: CONNECTIONS,
      threads: THREADS,
      serverA: withA,
    },
    rows,
    targets,
    raw: { throughput, latency, ttfb, stdioLatency, cold, memory, ablations, serverBTricks },
  };
  const dir = `${ROOT}bench/results`;
  Deno.mkdirSync(dir, { recursive: true });
  const file = `${dir}/bench-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`;
  const json = JSON.stringify(result, null, 2);
  Deno.writeTextFileSync(file, json);
  Deno.writeTextFileSync(`${dir}/latest.json`, json);
  say(`wrote ${file.slice(ROOT.length)} and bench/results/latest.json`);
  return 0;
}

function printTable(header: string, rows: Row[], targets: Target[]): void {
  const lines: string[][] = [];
  let section = "";
  const out: string[] = [header, ""];
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      lines.push([`[${section}]`, "", "", "", ""]);
    }
    const digits = row.unit.startsWith("ms") ? 3 : row.unit === "MiB" || row.unit === "%" ? 1 : 0;
    lines.push([
      `  ${row.name}`,
      `${fmt(row.value, digits)} ${row.unit}`,
      row.ratio ?? "",
      row.extra ?? "",
      row.generator,
    ]);
  }
  const widths = [0, 1, 2].map((i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) {
    out.push(
      [l[0]!.padEnd(widths[0]!), l[1]!.padStart(widths[1]!), l[2]!.padEnd(widths[2]!), l[3]!]
        .join("  ").trimEnd() + (l[4] ? `  [${l[4]}]` : ""),
    );
  }
  out.push("", "[targets]");
  const tw = Math.max(...targets.map((t) => t.name.length));
  const gw = Math.max(...targets.map((t) => t.goal.length));
  for (const t of targets) {
    out.push(
      `  ${t.met ? "MET " : "MISS"}  ${t.name.padEnd(tw)}  ${t.goal.padEnd(gw)}  ${t.measured}`,
    );
  }
  print(out.join("\n"));
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    say(`${signal}: stopping what the bench started`);
    stopAll().finally(() => {
      Deno.removeSync(cwd, { recursive: true });
      Deno.exit(130);
    });
  });
}

let code = 1;
try {
  code = await main();
} catch (error) {
  say(`bench failed: ${error instanceof Error ? error.stack ?? error.message : error}`);
} finally {
  await stopAll();
  Deno.removeSync(cwd, { recursive: true });
}
Deno.exit(code);
