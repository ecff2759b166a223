/**
 * The relay floor of `deno task bench`: the least a Deno program must do to relay a request to
 * Server B and its answer back (`POST /process`, over mcpcomm's own HTTP/1.1 pool), with no MCP,
 * no validation and no bookkeeping. Usage: `deno run --allow-net bench/relay_floor.ts PORT B_URL`.
 * @module
 */
import { createHttp1Pool } from "../src/http/http1.ts";

const port = Number(Deno.args[0] ?? 0);
const pool = createHttp1Pool(Deno.args[1] ?? "http://127.0.0.1:8000");
Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (request) => {
  const answer = await pool.request({
    method: "POST",
    path: "/process",
    headers: { "content-type": "application/json" },
    body: await request.text(),
  });
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
});
