/**
 * The ceiling of `deno task bench`: a bare `Deno.serve` answering a JSON-RPC echo, in its own
 * process. Usage: `deno run --allow-net bench/ceiling.ts PORT`.
 * @module
 */
const port = Number(Deno.args[0] ?? 0);
Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (request) => {
  const message = await request.json();
  return Response.json({ jsonrpc: "2.0", id: message.id, result: message.params ?? {} });
});
