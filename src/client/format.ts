/**
 * How `mcpcomm client` shows outcomes: readable text labelled by server, coloured only on a
 * terminal that allows it, or one JSON object per command for machines.
 * @module
 */
import type { CallToolResult, ReadResourceResult } from "@modelcontextprotocol/client";
import { COMMAND_USAGE, type Outcome } from "./_commands.ts";
import type { PerServer } from "./_registry.ts";

/** Text decorations; identity functions when colour is off. */
export interface Style {
  ok(text: string): string;
  error(text: string): string;
  label(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const plain = (text: string) => text;

/** A style with ANSI colours when `colour` is true, plain text otherwise. */
export function createStyle(colour: boolean): Style {
  if (!colour) return { ok: plain, error: plain, label: plain, dim: plain, bold: plain };
  return {
    ok: sgr(32, 39),
    error: sgr(31, 39),
    label: sgr(36, 39),
    dim: sgr(2, 22),
    bold: sgr(1, 22),
  };
}

/**
 * Whether to colour: only on a terminal, and never with `NO_COLOR` (Deno reads it at start-up
 * into `Deno.noColor`).
 */
export function colourWanted(isTerminal: boolean, noColor: boolean): boolean {
  return isTerminal && !noColor;
}

/** The text of a tool result: its text parts, other parts summarised. */
export function resultText(result: CallToolResult): string {
  const parts = (result.content ?? []).map((part: unknown) => {
    const p = part as {
      type: string;
      text?: string;
      mimeType?: string;
      uri?: string;
      resource?: { uri: string };
    };
    if (p.type === "text") return p.text ?? "";
    if (p.type === "image" || p.type === "audio") return `[${p.type} ${p.mimeType ?? ""}]`;
    if (p.type === "resource") return `[resource ${p.resource?.uri ?? ""}]`;
    if (p.type === "resource_link") return `[link ${p.uri ?? ""}]`;
    return `[${p.type}]`;
  });
  if (parts.length === 0 && result.structuredContent) {
    return JSON.stringify(result.structuredContent, null, 2);
  }
  return parts.join("\n");
}

function readText(result: ReadResourceResult): string {
  return result.contents.map((c: unknown) => {
    const item = c as { uri: string; text?: string; blob?: string; mimeType?: string };
    return item.text ??
      `[${item.mimeType ?? "binary"} ${item.blob?.length ?? 0} base64 characters]`;
  }).join("\n");
}

function indent(text: string, by = "  "): string {
  return text.split("\n").map((line) => by + line).join("\n");
}

/** The help text. */
export function helpText(style: Style): string {
  const width = Math.max(...COMMAND_USAGE.map(([, u]) => u.length));
  return [
    style.bold("Commands:"),
    ...COMMAND_USAGE.map(([, u, what]) => `  ${u.padEnd(width)}  ${style.dim(what)}`),
  ].join("\n");
}

function toolLine(label: string, result: CallToolResult, style: Style): string {
  const text = resultText(result);
  const body = text.includes("\n") ? `\n${indent(text)}` : ` ${text}`;
  return result.isError
    ? `${style.label(label)} ${style.error("error:")}${body}`
    : `${style.label(label)}${body}`;
}

/**
 * Renders an outcome for a person.
 * @example
 * ```ts
 * printOut(formatOutcome(outcome, createStyle(false)));
 * ```
 */
export function formatOutcome(outcome: Outcome, style: Style): string {
  switch (outcome.command) {
    case "empty":
    case "quit":
      return "";
    case "help":
      return helpText(style);
    case "invalid":
      return style.error(`error: ${outcome.error}`);
    case "servers": {
      if (outcome.servers.length === 0) return "No servers connected (add NAME TARGET)";
      const width = Math.max(...outcome.servers.map((s) => s.name.length));
      return [
        `Connected servers (${outcome.servers.length}):`,
        ...outcome.servers.map((s) =>
          `  ${style.label(s.name.padEnd(width))}  ${s.transport.padEnd(15)} ${s.target}  ${
            style.dim(`${s.serverName} ${s.serverVersion} MCP ${s.protocol}`)
          }${s.connected ? "" : style.error("  (disconnected)")}`
        ),
      ].join("\n");
    }
    case "add":
      return outcome.ok
        ? style.ok(`Added ${outcome.name} (${outcome.server!.transport} ${outcome.server!.target})`)
        : style.error(`Cannot add ${outcome.name}: ${outcome.error}`);
    case "remove":
      return outcome.ok
        ? style.ok(`Removed ${outcome.name}`)
        : style.error(`Cannot remove ${outcome.name}: ${outcome.error}`);
    case "tools":
      return listing(
        outcome.results,
        "tools",
        style,
        (t) => `  ${style.bold(t.name)}${t.description ? `: ${t.description}` : ""}`,
      );
    case "resources":
      return listing(
        outcome.results,
        "resources",
        style,
        (x) =>
          `  ${style.bold(x.uri)}  ${x.name}${
            x.description ? style.dim(` - ${x.description}`) : ""
          }`,
      );
    case "read":
      return outcome.result
        ? `${style.label(`[${outcome.server}]`)} ${outcome.uri}:\n${
          indent(readText(outcome.result))
        }`
        : `${style.label(`[${outcome.server}]`)} ${style.error(`error: ${outcome.error}`)}`;
    case "call":
      return outcome.result
        ? toolLine(`[${outcome.server}]`, outcome.result, style)
        : `${style.label(`[${outcome.server}]`)} ${style.error(`error: ${outcome.error}`)}`;
    case "broadcast":
      if (outcome.results.length === 0) return style.error("error: no servers connected");
      return outcome.results.map((r) =>
        r.ok
          ? toolLine(`[${r.server}]`, r.value, style)
          : `${style.label(`[${r.server}]`)} ${style.error(`error: ${r.error}`)}`
      ).join("\n");
  }
}

/** Each server's list under its label, one `line` per item; `what` names an empty list. */
function listing<T>(
  results: PerServer<T[]>[],
  what: string,
  style: Style,
  line: (item: T) => string,
): string {
  return results.map((r) => {
    if (!r.ok) return `${style.label(`[${r.server}]`)} ${style.error(`error: ${r.error}`)}`;
    if (r.value.length === 0) return `${style.label(`[${r.server}]`)} (no ${what})`;
    return [`${style.label(`[${r.server}]`)}:`, ...r.value.map(line)].join("\n");
  }).join("\n") || "No servers connected";
}

/** Renders an outcome as one JSON line. */
export function formatJson(outcome: Outcome): string {
  return JSON.stringify(outcome);
}
