/**
 * Every subcommand of `mcpcomm`, in the order `--help` lists them.
 * @module
 */
import type { Command } from "../cli.ts";
import { serverBCommand } from "./server_b.ts";

/** The subcommands. */
export const COMMANDS: readonly Command[] = [serverBCommand];
