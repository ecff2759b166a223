/**
 * PostgreSQL URLs in settings: recognised, shown without their password, and their passwords
 * found so that error messages can be scrubbed.
 * @module
 */

/** Whether `db` (MCPCOMM_DB) names a PostgreSQL database rather than a file. */
export function isPostgresUrl(db: string | undefined): db is string {
  return db !== undefined && /^postgres(ql)?:\/\//i.test(db);
}

/** `url` without its password (in the userinfo or a `password` parameter), for logs. */
export function redactPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    if (parsed.searchParams.has("password")) parsed.searchParams.set("password", "***");
    return parsed.href;
  } catch {
    return "postgres://(unparsable URL)";
  }
}

/** The password forms in `url` (as written and decoded), to scrub from messages. */
export function passwordsOf(url: string): string[] {
  try {
    const parsed = new URL(url);
    const found = [parsed.password, parsed.searchParams.get("password") ?? ""];
    try {
      found.push(decodeURIComponent(parsed.password));
    } catch {
      // the encoded form is already listed
    }
    return [...new Set(found)].filter((secret) => secret.length > 0);
  } catch {
    return [];
  }
}
