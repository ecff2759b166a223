/**
 * The plain code `src/mcp/_era.ts` replaces, swapped in by the bench's import map: the SDK's
 * `isLegacyRequest` asked on every `POST`.
 * @module
 */
import { isLegacyRequest } from "@modelcontextprotocol/server";

/** Whether the parsed body of a `POST` is served by the 2025-era wiring. */
export async function isLegacyPost(
  request: Request,
  parsed: unknown,
  maxRequestBodySize: number,
): Promise<boolean> {
  return await isLegacyRequest(request, parsed, { maxRequestBodySize });
}
