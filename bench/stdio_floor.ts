/**
 * The cold-start floor of `deno task bench`: the least a Deno program must do to answer an MCP
 * `initialize` over stdio (read one line, write one line), with no imports.
 * @module
 */
const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
let buffered = "";
while (!buffered.includes("\n")) {
  const { done, value } = await reader.read();
  if (done) break;
  buffered += value;
}
const request = JSON.parse(buffered.split("\n")[0]!);
const result = {
  protocolVersion: request.params.protocolVersion,
  capabilities: {},
  serverInfo: { name: "floor", version: "0.0.0" },
};
Deno.stdout.writeSync(
  new TextEncoder().encode(`${JSON.stringify({ jsonrpc: "2.0", id: request.id, result })}\n`),
);
