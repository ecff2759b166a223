/**
 * The version of mcpcomm, read from `deno.json` (embedded by `deno compile`).
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };

/** The version of mcpcomm. */
export const VERSION: string = denoJson.version;
