/**
 * The `mcpcomm` entrypoint: the only place that reads `Deno.args` and the environment, and the
 * only place that exits.
 * @module
 */
import { parseEnv } from "node:util";
import { commandMap, parseCommandLine } from "./cli.ts";
import { COMMANDS, MAIN_FLAGS } from "./commands/mod.ts";
import {
  ConfigError,
  createSignalGate,
  dataDirectory,
  describeError,
  loadConfig,
  printError,
  printOut,
  redactSecret,
  secretValues,
  setLogLevel,
  UsageError,
  VERSION,
} from "./core/mod.ts";

async function readDotenv(path = ".env"): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw new ConfigError(`Cannot read ${path}: ${describeError(error)}`);
  }
  return parseEnv(text) as Record<string, string>;
}

/** Variables a spawned stdio MCP server inherits besides the SDK's defaults (HOME, PATH, ...). */
const CHILD_ENV_NAMES = [
  "DENO_DIR",
  "DENO_CERT",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
  "XDG_DATA_HOME",
  "XDG_CACHE_HOME",
];

function childEnvironment(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(CHILD_ENV_NAMES.flatMap((k) => env[k] ? [[k, env[k]]] : []));
}

/** Runs `mcpcomm` with `args`; resolves to the process exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    printOut(commandMap(COMMANDS, { version: VERSION, mainFlags: MAIN_FLAGS }));
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    printOut(`mcpcomm ${VERSION}`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) {
      throw new UsageError(
        `Unknown command "${name}"; expected one of ${COMMANDS.map((c) => c.name).join(", ")}`,
      );
    }
    const parsed = parseCommandLine(command, rest);
    if (parsed.help) {
      printOut(command.help);
      return 0;
    }
    const dotenv = await readDotenv();
    const env = Deno.env.toObject();
    const config = loadConfig({ dotenv, env, flags: parsed.settings });
    for (const secret of secretValues(config)) redactSecret(secret);
    setLogLevel(config.LOG_LEVEL);
    const controller = new AbortController();
    const gate = createSignalGate();
    const stop = () => {
      const action = gate();
      if (action === "stop") return controller.abort(new Error("shutdown"));
      if (action === "ignore") return;
      printError(`mcpcomm ${name}: second signal, stopping without waiting`);
      Deno.exit(1);
    };
    Deno.addSignalListener("SIGINT", stop);
    if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
    return await command.run({
      config,
      flags: parsed.flags,
      positionals: parsed.positionals,
      signal: controller.signal,
      dataDir: dataDirectory(Deno.build.os, env),
      childEnv: childEnvironment(env),
      env: { ...dotenv, ...env },
    });
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      printError(`mcpcomm${command ? ` ${command.name}` : ""}: ${error.message}`);
      return 2;
    }
    printError(`mcpcomm${command ? ` ${command.name}` : ""}: ${describeError(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
