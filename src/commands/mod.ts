/**
 * Every subcommand of `mcpcomm`, in the order `--help` lists them.
 * @module
 */
import type { Command } from "../cli.ts";
import { clientCommand } from "./client.ts";
import { serverACommand } from "./server_a.ts";
import { serverBCommand } from "./server_b.ts";
import { testCommand } from "./test.ts";
import { toolboxCommand } from "./toolbox.ts";

/** The subcommands. */
export const COMMANDS: readonly Command[] = [
  serverBCommand,
  serverACommand,
  testCommand,
  clientCommand,
  toolboxCommand,
];
