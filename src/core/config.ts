/**
 * Every setting of mcpcomm, validated once at start-up by one zod schema.
 * Precedence: command-line flags, then the environment, then `.env` in the working directory,
 * then the defaults below. Nothing else in mcpcomm reads the environment.
 * @module
 */
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import {
  SERVER_A_OAUTH_SETTINGS,
  SERVER_A_SETTINGS,
  UPSTREAM_SETTINGS,
} from "./_settings_server_a.ts";
import { SERVER_B_SETTINGS } from "./_settings_server_b.ts";
import { AUTH_SETTINGS, PROCESS_SETTINGS, SERVING_SETTINGS } from "./_settings_serve.ts";
import { STORAGE_SETTINGS } from "./_settings_storage.ts";

/** The table of settings: environment name, schema with default, what it accepts, what it does. */
export const SETTINGS = {
  ...SERVER_B_SETTINGS,
  ...SERVER_A_SETTINGS,
  ...AUTH_SETTINGS,
  ...SERVER_A_OAUTH_SETTINGS,
  ...SERVING_SETTINGS,
  ...UPSTREAM_SETTINGS,
  ...STORAGE_SETTINGS,
  ...PROCESS_SETTINGS,
} as const;

/** The name of a setting, as in the environment and `.env`. */
export type SettingName = keyof typeof SETTINGS;

type Settings = typeof SETTINGS;
/** The validated settings object, keyed by environment name. */
export type Config = { [K in SettingName]: z.output<Settings[K]["schema"]> };

const schema = z.object(
  Object.fromEntries(Object.entries(SETTINGS).map(([k, v]) => [k, v.schema])) as {
    [K in SettingName]: Settings[K]["schema"];
  },
);

/** Where settings come from, strongest last. */
export interface ConfigSources {
  /** Parsed `.env` content. */
  dotenv?: Record<string, string>;
  /** The process environment. */
  env?: Record<string, string>;
  /** Settings given as command-line flags. */
  flags?: Partial<Record<SettingName, string>>;
}

/**
 * Validates the merged sources; throws one {@linkcode ConfigError} naming the first bad setting.
 * Empty values count as unset.
 * @example
 * ```ts
 * const config = loadConfig({ env: { HTTP_PORT: "9000" } });
 * config.HTTP_PORT; // 9000
 * ```
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const merged: Record<string, string> = {};
  for (const source of [sources.dotenv, sources.env, sources.flags]) {
    for (const [key, value] of Object.entries(source ?? {})) {
      if (Object.hasOwn(SETTINGS, key) && value !== undefined && value !== "") merged[key] = value;
    }
  }
  const result = schema.safeParse(merged);
  if (result.success) return result.data as Config;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0]) as SettingName;
  const spec = SETTINGS[name];
  const shown = spec.secret
    ? "(hidden)"
    : JSON.stringify(merged[name])?.replace(/(\/\/[^/@:"]*:)[^@/"]*@/g, "$1***@");
  throw new ConfigError(`Invalid setting ${name}=${shown}: expected ${spec.accepts}`);
}

/** The values of every secret setting that is set, and passwords inside URLs, for log redaction. */
export function secretValues(config: Config): string[] {
  const secrets = (Object.keys(SETTINGS) as SettingName[])
    .filter((k) => SETTINGS[k].secret)
    .map((k) => config[k]);
  const urls = [
    config.OPENAI_BASE_URL,
    config.AWS_ENDPOINT_URL,
    config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
    config.OAUTH_INTROSPECTION_URL,
    config.SERVER_B_OAUTH_TOKEN_URL,
    config.MCPCOMM_REDIS,
    ...config.SERVER_B_URL,
    ...(/^postgres(ql)?:\/\//i.test(config.MCPCOMM_DB ?? "") ? [config.MCPCOMM_DB] : []),
  ];
  const dbPassword = /^postgres(ql)?:\/\//i.test(config.MCPCOMM_DB ?? "")
    ? new URL(config.MCPCOMM_DB!).searchParams.get("password")
    : null;
  const passwords = urls.flatMap((url) => {
    const password = url ? new URL(url).password : "";
    try {
      return [password, decodeURIComponent(password)];
    } catch {
      return [password];
    }
  });
  return [...new Set([...secrets, ...passwords, dbPassword])].filter((v): v is string =>
    typeof v === "string" && v !== ""
  );
}
