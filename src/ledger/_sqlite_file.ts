/**
 * The SQLite ledger's file: created private (0700 folders, 0600 files), checked, migrated, in WAL
 * mode; and what SQLite's error codes mean for a write.
 * @module
 */
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { describeError, StorageError } from "../core/mod.ts";
import { num } from "./_rows.ts";

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL,
  timestamp TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  message TEXT NOT NULL,
  context TEXT,
  ai_response TEXT,
  model TEXT NOT NULL,
  provider TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL,
  estimated_cost REAL,
  response_time REAL NOT NULL,
  status TEXT NOT NULL,
  error TEXT
);
CREATE INDEX IF NOT EXISTS entries_time ON entries (time_ms);
CREATE TABLE IF NOT EXISTS totals (
  model TEXT PRIMARY KEY,
  requests INTEGER NOT NULL DEFAULT 0,
  successes INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0,
  cost_units INTEGER NOT NULL DEFAULT 0,
  unpriced INTEGER NOT NULL DEFAULT 0,
  response_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/**
 * MCPCOMM_DB_SYNC: `full` syncs the WAL to disk at every commit (a committed exchange survives
 * power loss); `normal` only at checkpoints (it survives a crash of mcpcomm, but the last commits
 * may be lost when the machine loses power or the OS crashes).
 */
export type LedgerSync = "full" | "normal";

/** A row as `node:sqlite` answers it. */
export interface Row {
  [key: string]: SQLInputValue;
}

function primaryCode(error: unknown): number | undefined {
  const errcode = (error as { errcode?: unknown })?.errcode;
  return typeof errcode === "number" ? errcode & 0xff : undefined;
}

/** SQLITE_FULL, or a message saying the disk is full. */
export function isFull(error: unknown): boolean {
  return primaryCode(error) === 13 ||
    /disk is full|database or disk is full/i.test(describeError(error));
}

/** SQLITE_BUSY or SQLITE_LOCKED: another connection held the lock past the busy timeout. */
export function isBusy(error: unknown): boolean {
  const code = primaryCode(error);
  return code === 5 || code === 6;
}

/**
 * Opens `path` (created private when missing), checks it is a sound mcpcomm ledger and migrates
 * it; throws {@linkcode StorageError} with a one-line reason otherwise.
 */
export function openDatabase(path: string, sync: LedgerSync): DatabaseSync {
  const fail = (error: unknown): never => {
    throw new StorageError(
      `Cannot open the ledger database ${path}: ${describeError(error)} ` +
        `(choose another file with --db PATH or MCPCOMM_DB, or --db :memory: to keep none)`,
    );
  };
  if (path !== ":memory:") {
    try {
      makePrivateDirectory(dirname(path));
      makePrivateFiles(path);
    } catch (error) {
      fail(error);
    }
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    db.exec("PRAGMA busy_timeout = 5000");
    const check = db.prepare("PRAGMA quick_check").all() as Row[];
    if (check.length !== 1 || check[0]?.quick_check !== "ok") {
      throw new Error(`the file is corrupt (${String(check[0]?.quick_check)})`);
    }
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${sync === "normal" ? "NORMAL" : "FULL"}`);
    const version = num((db.prepare("PRAGMA user_version").get() as Row).user_version);
    if (version > SCHEMA_VERSION) {
      throw new Error(`it was written by a newer mcpcomm (schema ${version})`);
    }
    const tables = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    ).all() as Row[];
    if (version === 0 && tables.length > 0) {
      throw new Error("it is not an mcpcomm ledger (it holds other tables)");
    }
    db.exec("BEGIN IMMEDIATE");
    db.exec(SCHEMA);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec("COMMIT");
    return db;
  } catch (error) {
    try {
      db?.close();
    } catch {
      // already failing; the first error is the one to report
    }
    return fail(error);
  }
}

/** Whether file modes apply (not on Windows). */
const POSIX = Deno.build.os !== "windows";

/**
 * Creates `dir` and its missing parents with mode 0700 whatever the umask; a directory that
 * already exists is left as it is (it may be the user's own).
 */
function makePrivateDirectory(dir: string): void {
  const missing: string[] = [];
  for (let at = dir; !exists(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const at of missing) {
    try {
      Deno.mkdirSync(at, { mode: 0o700 });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      continue;
    }
    if (POSIX) Deno.chmodSync(at, 0o700);
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Creates the database file with mode 0600 before SQLite opens it (SQLite gives its `-wal` and
 * `-shm` files the database file's mode), and narrows an existing database and its `-wal`/`-shm`
 * files to 0600: they hold message texts.
 */
function makePrivateFiles(path: string): void {
  Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 }).close();
  if (!POSIX) return;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let mode: number | null;
    try {
      mode = Deno.statSync(file).mode;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    if (mode !== null && (mode & 0o777) !== 0o600) Deno.chmodSync(file, 0o600);
  }
}
