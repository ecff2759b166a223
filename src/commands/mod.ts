/**
 * Every subcommand of `mcpcomm`, in the order `--help` lists them.
 * @module
 */
import type { Command } from "../cli.ts";
import { clientCommand } from "./_client.ts";
import { serverACommand } from "./_server_a.ts";
import { serverBCommand } from "./_server_b.ts";
import { testCommand } from "./_test.ts";
import { toolboxCommand } from "./_toolbox.ts";

/** The subcommands. */
export const COMMANDS: readonly Command[] = [
  serverBCommand,
  serverACommand,
  testCommand,
  clientCommand,
  toolboxCommand,
];

/** The flags `mcpcomm --help` shows under each subcommand; `mcpcomm <command> --help` lists all. */
export const MAIN_FLAGS: Readonly<Record<string, string>> = {
  "server-b": "--port N  --host HOST  --provider mock|openai|bedrock  --mcp stdio  --db PATH|URL",
  "server-a": "--server-b-url URL[,URL]  --transport stdio|http  --port N  --upstream NAME=TARGET",
  test: "--server-b-url URL  --ca-cert FILE  --json",
  client: "[NAME=]TARGET ...  --exec CMD  --mode test  --config FILE  -H 'NAME=HEADER: VALUE'",
  toolbox: "--port N  --name NAME  --tools a,b,...  --root DIR  --transport http|stdio",
};
