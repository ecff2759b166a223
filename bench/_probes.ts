/**
 * Probes both benches take: one tool call, the time to the first streamed delta (Server B's
 * `POST /stream`, Server A's progress notifications), cold start over stdio, and Server A's
 * memory with many sessions open and after they expired.
 * @module
 */
import {
  closeSession,
  initializeRequest,
  openSession,
  post,
  readMessages,
  resultText,
  type RpcMessage,
  toolCall,
} from "./_mcp.ts";
import { baseEnv, type Proc, rssBytes } from "./_processes.ts";

const encoder = new TextEncoder();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls tool `name` once in session `sessionId` and returns its text. */
export async function callOnce(
  url: string,
  sessionId: string,
  name: string,
  args: object,
): Promise<string> {
  const response = await post(url, toolCall(1, name, args as Record<string, unknown>), sessionId);
  let answer: RpcMessage | undefined;
  await readMessages(response, (m) => {
    if (m.id === 1) answer = m;
    return answer !== undefined;
  });
  return resultText(answer, `${name} at ${url}`);
}

/** Time to the first streamed text and to the end, from Server B's `POST /stream`. */
export async function timeBStream(
  url: string,
  body: string,
): Promise<{ first: number; total: number }> {
  const started = performance.now();
  const response = await fetch(`${url}/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (!response.ok) throw new Error(`POST ${url}/stream: HTTP ${response.status}`);
  let first = NaN;
  const { createParser } = await import("eventsource-parser");
  const parser = createParser({
    onEvent: (event) => {
      if (Number.isNaN(first) && (event.event ?? "message") === "message") {
        if (typeof JSON.parse(event.data).text === "string") first = performance.now() - started;
      }
    },
  });
  for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) parser.feed(chunk);
  if (Number.isNaN(first)) throw new Error(`${url}/stream sent no text`);
  return { first, total: performance.now() - started };
}

/** Time to the first progress notification and to the result, through Server A. */
export async function timeAStream(
  url: string,
  sessionId: string,
  n: number,
  message: string,
): Promise<{ first: number; total: number }> {
  const started = performance.now();
  const response = await post(
    url,
    toolCall(n, "send_message_to_ai", { message }, `p${n}`),
    sessionId,
  );
  let first = NaN;
  let answer: RpcMessage | undefined;
  await readMessages(response, (m) => {
    if (m.method === "notifications/progress" && Number.isNaN(first)) {
      first = performance.now() - started;
    }
    if (m.id === n) answer = m;
    return answer !== undefined;
  });
  resultText(answer, "send_message_to_ai with progress");
  return { first, total: performance.now() - started };
}

/** Cold start: process start to the `initialize` answer on stdout, in ms. */
export async function coldStart(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<number> {
  const started = performance.now();
  const child = new Deno.Command(command, {
    args,
    cwd,
    env: { ...baseEnv(), NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(`${JSON.stringify(initializeRequest(0))}\n`));
  let buffered = "";
  let elapsed = NaN;
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += value;
      const line = buffered.split("\n").find((l) => l.includes('"id":0'));
      if (line) {
        elapsed = performance.now() - started;
        if (!JSON.parse(line).result) throw new Error(`initialize failed: ${line}`);
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    await writer.close().catch(() => {});
    await reader.cancel().catch(() => {});
    try {
      child.kill("SIGTERM");
    } catch {
      // exited on stdin close
    }
    await child.status;
  }
  if (Number.isNaN(elapsed)) {
    throw new Error(`${args.join(" ")} gave no initialize answer:\n${await stderr}`);
  }
  await stderr;
  return elapsed;
}

/** One round of {@linkcode measureSessions}: RSS with the sessions open, and after they expired. */
export interface SessionCycle {
  open: number;
  /** RSS 3 s after expiry. */
  soon: number;
  /** RSS `afterExpiryMs` after expiry, once V8's idle memory reducer could run. */
  expired: number;
  openSeconds: number;
  expiredAfterSeconds: number;
}

/** What {@linkcode measureSessions} does to a Server A. */
export interface SessionOptions {
  /** Sessions opened per cycle, 16 at a time. */
  sessions: number;
  cycles: number;
  /** The server's `MCP_SESSION_IDLE_MINUTES`. */
  idleMinutes: number;
  /** When "after they expired" is read: V8 gives memory back about 10 s into an idle spell. */
  afterExpiryMs: number;
  message: string;
}

/**
 * Server A's RSS after one warm call (baseline), then per cycle with `sessions` sessions open
 * and after they expired. `a` is a fresh Server A over HTTP started with `idleMinutes`.
 */
export async function measureSessions(
  a: { proc: Proc; url: string },
  options: SessionOptions,
): Promise<{ baseline: number; cycles: SessionCycle[] }> {
  const url = `${a.url}/mcp`;
  const warm = await openSession(url);
  await callOnce(url, warm, "send_message_to_ai", { message: options.message });
  await closeSession(url, warm);
  await sleep(1000);
  const baseline = rssBytes(a.proc.pid);

  const ping = async (sid: string) => {
    const response = await post(url, { jsonrpc: "2.0", id: 1, method: "ping" }, sid);
    await response.body?.cancel();
    return response.status;
  };
  const idleMs = options.idleMinutes * 60_000;
  const cycles: SessionCycle[] = [];
  for (let cycle = 0; cycle < options.cycles; cycle++) {
    const started = performance.now();
    const sessions: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < options.sessions) {
        next++;
        sessions.push(await openSession(url));
      }
    }));
    const opened = performance.now();
    const open = rssBytes(a.proc.pid);
    await sleep(idleMs);
    const deadline = opened + idleMs * 4 + 60_000;
    let probe = sessions.length - 1;
    let expiredAt = NaN;
    while (performance.now() < deadline && probe >= 0) {
      if (await ping(sessions[probe--]!) === 404) {
        expiredAt = performance.now();
        break;
      }
      await sleep(500);
    }
    if (Number.isNaN(expiredAt)) throw new Error(`sessions on ${url} did not expire`);
    const alive = (await Promise.all(sessions.slice(0, 50).map(ping))).filter((s) => s !== 404);
    if (alive.length) throw new Error(`${alive.length} of 50 sessions still answer after expiry`);
    await sleep(3000);
    const soon = rssBytes(a.proc.pid);
    await sleep(options.afterExpiryMs - 3000);
    cycles.push({
      open,
      soon,
      expired: rssBytes(a.proc.pid),
      openSeconds: (opened - started) / 1000,
      expiredAfterSeconds: (expiredAt - opened) / 1000,
    });
  }
  return { baseline, cycles };
}
