/**
 * The PostgreSQL ledger's schema: numbered migrations applied once under an advisory lock, the
 * entry columns, and the value conversions PostgreSQL needs.
 * @module
 */
import type postgres from "postgres";

/** Numbered migrations: index 0 is version 1. Never edit one that shipped; add the next. */
const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE mcpcomm_entries (
      seq bigserial PRIMARY KEY,
      ledger text NOT NULL,
      message_id text NOT NULL,
      timestamp text NOT NULL,
      time_ms bigint NOT NULL,
      message text NOT NULL,
      context text,
      ai_response text,
      model text NOT NULL,
      provider text NOT NULL,
      prompt_tokens bigint NOT NULL,
      completion_tokens bigint NOT NULL,
      total_tokens bigint NOT NULL,
      estimated_cost double precision,
      response_time double precision NOT NULL,
      status text NOT NULL,
      error text
    )`,
    "CREATE UNIQUE INDEX mcpcomm_entries_message ON mcpcomm_entries (ledger, message_id)",
    "CREATE INDEX mcpcomm_entries_seq ON mcpcomm_entries (ledger, seq)",
    "CREATE INDEX mcpcomm_entries_time ON mcpcomm_entries (ledger, time_ms)",
    `CREATE TABLE mcpcomm_totals (
      ledger text NOT NULL,
      model text NOT NULL,
      requests bigint NOT NULL DEFAULT 0,
      successes bigint NOT NULL DEFAULT 0,
      failures bigint NOT NULL DEFAULT 0,
      prompt_tokens bigint NOT NULL DEFAULT 0,
      completion_tokens bigint NOT NULL DEFAULT 0,
      total_tokens bigint NOT NULL DEFAULT 0,
      cost_units bigint NOT NULL DEFAULT 0,
      unpriced bigint NOT NULL DEFAULT 0,
      response_ms bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (ledger, model)
    )`,
  ],
];

/** The latest schema version this mcpcomm writes. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** The columns of `mcpcomm_entries` an insert fills. */
export const ENTRY_COLUMNS = [
  "ledger",
  "message_id",
  "timestamp",
  "time_ms",
  "message",
  "context",
  "ai_response",
  "model",
  "provider",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "estimated_cost",
  "response_time",
  "status",
  "error",
] as const;

/** PostgreSQL's text cannot hold NUL: it is stored as U+FFFD. */
export function text<T extends string | undefined>(value: T): T {
  return (value?.includes("\0") ? value.replaceAll("\0", "\uFFFD") : value) as T;
}

/** The SQLSTATE of a PostgreSQL error. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Applies the missing migrations in one transaction under an advisory lock, so replicas starting
 * together migrate once. Throws when the database was migrated by a newer mcpcomm.
 */
export async function migrate(sql: postgres.Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext('mcpcomm.schema_migrations'))`;
    await tx`CREATE TABLE IF NOT EXISTS mcpcomm_schema_migrations (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
    const [row] = await tx`SELECT coalesce(max(version), 0) AS version
      FROM mcpcomm_schema_migrations`;
    const version = Number(row?.version ?? 0);
    if (version > MIGRATIONS.length) {
      throw new Error(`it was written by a newer mcpcomm (schema ${version})`);
    }
    for (let next = version; next < MIGRATIONS.length; next++) {
      for (const statement of MIGRATIONS[next]!) await tx.unsafe(statement);
      await tx`INSERT INTO mcpcomm_schema_migrations (version) VALUES (${next + 1})`;
    }
  });
}
