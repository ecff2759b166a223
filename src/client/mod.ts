/**
 * `mcpcomm client`: connects to every target, then runs commands from `--exec`, from a
 * terminal prompt with line editing and history, or the `--mode test` checks.
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { printOut } from "../core/mod.ts";
import type { NamedTarget } from "../mcp/mod.ts";
import { COMMAND_USAGE, type Outcome, runCommand } from "./_commands.ts";
import { formatJson, formatOutcome, type Style } from "./format.ts";
import { type RegistryOptions, ServerRegistry } from "./_registry.ts";
import { type CheckResult, runSelfTest } from "./_selftest.ts";

/** Options of {@linkcode runClient}. */
export interface ClientOptions {
  targets: NamedTarget[];
  /** Commands to run instead of a prompt. */
  exec: string[];
  mode: "interactive" | "test";
  json: boolean;
  style: Style;
  /** Whether stdin is a terminal (prompt, line editing, history). */
  interactive: boolean;
  /** Transport for a bare `HOST:PORT` in `add`. */
  defaultTransport?: string | undefined;
  version: string;
  timeoutMs: number;
  /** Variables passed on to `stdio:` servers. */
  childEnv?: Record<string, string> | undefined;
  /** Interactive OAuth for servers that answer 401 (see {@linkcode RegistryOptions}). */
  oauth?: RegistryOptions["oauth"];
  signal: AbortSignal;
  /** Where output lines go (default stdout). */
  write?: (line: string) => void;
}

function completer(servers: ServerRegistry) {
  const words = COMMAND_USAGE.map(([w]) => w);
  return (line: string): [string[], string] => {
    const parts = line.trimStart().split(/\s+/);
    const current = parts.at(-1) ?? "";
    const [command] = parts;
    let pool: string[] = [];
    if (parts.length <= 1) pool = words;
    else if (parts.length === 2 && command === "broadcast") pool = servers.knownTools();
    else if (
      parts.length === 2 && ["call", "tools", "resources", "read", "remove"].includes(command!)
    ) {
      pool = servers.names;
    } else if (parts.length === 3 && command === "call") pool = servers.knownTools(parts[1]);
    const hits = pool.filter((w) => w.startsWith(current));
    return [hits.length ? hits : pool, current];
  };
}

/**
 * Runs the client to the end; resolves to the exit code: 0 when everything asked for succeeded,
 * 1 when a connection, a command or a check failed.
 * @example
 * ```ts
 * const code = await runClient({ targets, exec: ["tools"], mode: "interactive", json: true, ... });
 * ```
 */
export async function runClient(options: ClientOptions): Promise<number> {
  const write = options.write ?? printOut;
  const show = (outcome: Outcome) => {
    if (outcome.command === "empty" || outcome.command === "quit") return;
    write(options.json ? formatJson(outcome) : formatOutcome(outcome, options.style));
  };
  await using servers = new ServerRegistry({
    clientName: "mcpcomm-client",
    version: options.version,
    timeoutMs: options.timeoutMs,
    childEnv: options.childEnv,
    oauth: options.oauth,
  });
  let failed = false;

  const connected: Outcome[] = (await servers.addAll(options.targets)).map((r) =>
    r.ok
      ? { command: "add", ok: true, name: r.server, server: r.value }
      : { command: "add", ok: false, name: r.server, error: r.error }
  );
  for (const outcome of connected) {
    if (!outcome.ok) failed = true;
    if (!outcome.ok || options.mode !== "test") show(outcome);
  }

  if (options.mode === "test") {
    const results = await runSelfTest(servers, (r) => {
      if (!options.json) write(formatCheck(r, options.style));
    });
    const count = (s: CheckResult["status"]) => results.filter((r) => r.status === s).length;
    const ok = !failed && count("fail") === 0;
    if (options.json) {
      write(JSON.stringify({
        mode: "test",
        ok,
        passed: count("pass"),
        failed: count("fail"),
        skipped: count("skip"),
        checks: results,
      }));
    } else {
      const line = `${count("pass")} passed, ${count("fail")} failed, ${count("skip")} skipped`;
      write(ok ? options.style.ok(line) : options.style.error(line));
    }
    return ok ? 0 : 1;
  }

  if (options.exec.length > 0) {
    for (const line of options.exec) {
      const outcome = await runCommand(servers, line, {
        defaultTransport: options.defaultTransport,
        signal: options.signal,
      });
      show(outcome);
      if (!outcome.ok) failed = true;
      if (outcome.command === "quit") break;
    }
    return failed ? 1 : 0;
  }

  const reader = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: options.interactive,
    historySize: 1000,
    removeHistoryDuplicates: true,
    completer: completer(servers),
    prompt: options.interactive ? "mcp> " : "",
  });
  const stop = () => reader.close();
  options.signal.addEventListener("abort", stop, { once: true });
  // Ctrl-C cancels the running command (the servers are told), or leaves at an idle prompt.
  let running: AbortController | undefined;
  reader.on("SIGINT", () => {
    if (running) running.abort(new Error("cancelled (Ctrl-C)"));
    else stop();
  });
  if (options.interactive) await servers.fanOut((name) => servers.tools(name));
  if (options.interactive && !options.json) {
    write(
      options.style.dim(`Connected to ${servers.names.length} server(s); type help for commands`),
    );
  }
  let open = true;
  reader.on("close", () => open = false);
  const prompt = () => options.interactive && open && reader.prompt();
  try {
    prompt();
    for await (const line of reader) {
      running = new AbortController();
      const outcome = await runCommand(servers, line, {
        defaultTransport: options.defaultTransport,
        signal: AbortSignal.any([options.signal, running.signal]),
      });
      running = undefined;
      show(outcome);
      if (!outcome.ok) failed = true;
      if (outcome.command === "quit") break;
      prompt();
    }
  } finally {
    options.signal.removeEventListener("abort", stop);
    reader.close();
  }
  return failed && !options.interactive ? 1 : 0;
}

function formatCheck(r: CheckResult, style: Style): string {
  const mark = r.status === "pass"
    ? style.ok("PASS")
    : r.status === "fail"
    ? style.error("FAIL")
    : style.dim("SKIP");
  return `${mark} ${style.label(`[${r.server}]`)} ${r.check}: ${r.detail}`;
}

export * from "./format.ts";
