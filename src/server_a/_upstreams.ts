/**
 * The gateway's upstream list from the settings: `--upstream`/`UPSTREAMS`, `UPSTREAMS_FILE`
 * (Claude Desktop `mcpServers` shape) and `--upstream-header`/`UPSTREAM_HEADERS`, with `${VAR}`
 * expanded from the environment given at start-up.
 * @module
 */
import {
  type Environment,
  loadServersFile,
  mergeTargets,
  type NamedTarget,
  parseTargetList,
  splitItems,
  withHeaders,
} from "../mcp/mod.ts";

/** The settings {@linkcode resolveUpstreams} reads, named as in `Config`. */
export interface UpstreamSettings {
  readonly UPSTREAMS?: string | undefined;
  readonly UPSTREAMS_FILE?: string | undefined;
  readonly UPSTREAM_HEADERS?: string | undefined;
}

/** Where upstreams come from besides the settings. */
export interface UpstreamSources {
  /** `--upstream NAME=TARGET` flags; they replace `UPSTREAMS` when given. */
  upstreams?: readonly string[] | undefined;
  /** `--upstream-header NAME=Header: value` flags; they replace `UPSTREAM_HEADERS` when given. */
  upstreamHeaders?: readonly string[] | undefined;
  /** The environment `${VAR}` in headers and the upstreams file reads from. */
  env?: Environment | undefined;
}

/**
 * Every configured upstream with its headers and child environment; throws a `UsageError`
 * naming the flag, setting or file and the upstream of a problem.
 * @example
 * ```ts
 * resolveUpstreams(config, { upstreamHeaders: ["gh=Authorization: Bearer ${GITHUB_TOKEN}"], env });
 * ```
 */
export function resolveUpstreams(
  config: UpstreamSettings,
  sources: UpstreamSources,
): NamedTarget[] {
  const env = sources.env ?? {};
  const listed = sources.upstreams?.length
    ? parseTargetList(sources.upstreams)
    : parseTargetList(config.UPSTREAMS ?? "");
  const fromFile = config.UPSTREAMS_FILE
    ? loadServersFile(config.UPSTREAMS_FILE, env, "UPSTREAMS_FILE")
    : [];
  const flagged = sources.upstreamHeaders?.length;
  return withHeaders(
    mergeTargets(listed, fromFile),
    flagged ? sources.upstreamHeaders! : splitItems(config.UPSTREAM_HEADERS),
    env,
    flagged ? "--upstream-header" : "UPSTREAM_HEADERS",
    "upstream",
  );
}
