/**
 * Readiness (`GET /health/ready`): named checks, each giving the reason it fails or nothing.
 * Liveness stays `GET /health`, which answers while the process serves at all.
 * @module
 */

/** A readiness check: the reason the server cannot take work now, or `undefined`. */
export type ReadinessCheck = () => string | undefined | Promise<string | undefined>;

/** Answer of `GET /health/ready`. */
export interface ReadinessBody {
  status: "ready" | "not ready";
  checks: Record<string, { ok: boolean; reason?: string }>;
  error?: { code: "unavailable"; message: string };
}

/**
 * Runs `checks`: 200 `{status: "ready", checks}` when all pass, else 503 with the failing
 * checks' reasons and the usual `{error: {code, message}}`.
 * @example
 * ```ts
 * await readinessResponse({ database: () => ledger.problem() });
 * ```
 */
export async function readinessResponse(
  checks: Record<string, ReadinessCheck>,
): Promise<Response> {
  const body: ReadinessBody = { status: "ready", checks: {} };
  const reasons: string[] = [];
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        return [name, await check()] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : String(error)] as const;
      }
    }),
  );
  for (const [name, reason] of results) {
    body.checks[name] = reason === undefined ? { ok: true } : { ok: false, reason };
    if (reason !== undefined) reasons.push(`${name}: ${reason}`);
  }
  if (reasons.length === 0) return Response.json(body);
  body.status = "not ready";
  body.error = { code: "unavailable", message: reasons.join("; ") };
  return Response.json(body, { status: 503, headers: { "cache-control": "no-store" } });
}
