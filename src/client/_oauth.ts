/**
 * Interactive OAuth for `mcpcomm client` (the MCP authorization spec): the SDK discovers the
 * authorization server from the server's 401, registers the client (a client ID metadata
 * document URL when the server supports one, else dynamic registration) and builds the
 * authorization-code request with PKCE; this provider stores the client registration and the
 * tokens per server in a file created 0600 in a 0700 directory, receives the code on a loopback
 * listener (127.0.0.1, the port kept with the registration) and prints the authorization URL,
 * opening a browser when someone is at the terminal. Refresh is the SDK's, on a 401.
 * @module
 */
import {
  DPOP_SUPPORTED_ALGS,
  type DpopAlg,
  DpopSession,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from "@modelcontextprotocol/client";
import { printError } from "../core/mod.ts";
import { AuthorizationError } from "./_authorization_error.ts";
import { followToLoopback, openBrowser } from "./_browser.ts";
import { openTokenFile, readStored, type Stored, writeStored } from "./_token_file.ts";

export { AuthorizationError } from "./_authorization_error.ts";
export { tokenFilePath } from "./_token_file.ts";

/** How the authorization URL reaches the user's browser. */
export type BrowserMode =
  /** Print it and open the system browser (`xdg-open`, `open`, `start`). */
  | "open"
  /** Print it only. */
  | "print"
  /**
   * Testing aid: fetch it without a browser and follow the authorization server's redirect to
   * the loopback listener (only an authorization server that approves without a user does that).
   */
  | "auto";

/** Options of {@linkcode FileOAuthProvider}. */
export interface FileOAuthOptions {
  /** The directory of the token files (created 0700). */
  dir: string;
  /** The MCP server's URL; its origin and path key the file. */
  serverUrl: URL;
  /** An https URL of this client's metadata document, used as `client_id` where supported. */
  clientMetadataUrl?: string | undefined;
  browser: BrowserMode;
  /**
   * Ask for DPoP-bound tokens whenever the authorization server offers them; otherwise only
   * when the server's resource metadata asks for DPoP (a server that takes only Bearer tokens
   * refuses DPoP-bound ones).
   */
  dpop?: boolean | undefined;
  /** A client registered beforehand (client_id and, for a confidential client, its secret). */
  preRegistered?: StoredOAuthClientInformation | undefined;
  /** Where messages for the user go (default stderr). */
  tell?: (line: string) => void;
}

/**
 * The `OAuthClientProvider` of one server for `mcpcomm client`. Call {@linkcode open} before
 * connecting and {@linkcode close} after.
 */
export class FileOAuthProvider implements OAuthClientProvider {
  readonly #options: FileOAuthOptions;
  #file = "";
  #stored: Stored;
  #listener: Deno.HttpServer<Deno.NetAddr> | undefined;
  #port = 0;
  #verifier: string | undefined;
  #state: string | undefined;
  #discovery: OAuthDiscoveryState | undefined;
  #pendingUrl: URL | undefined;
  #callback: PromiseWithResolvers<URLSearchParams> | undefined;
  #dpop: Promise<DpopSession> | undefined;
  /** The https URL of this client's metadata document, used as `client_id` where supported. */
  readonly clientMetadataUrl?: string;

  constructor(options: FileOAuthOptions) {
    this.#options = options;
    if (options.clientMetadataUrl) this.clientMetadataUrl = options.clientMetadataUrl;
    this.#stored = { server: `${options.serverUrl.origin}${options.serverUrl.pathname}` };
  }

  /** Reads the stored registration and tokens and starts the loopback listener. */
  async open(): Promise<void> {
    this.#file = await openTokenFile(this.#options.dir, this.#options.serverUrl);
    this.#stored = await readStored(this.#file, this.#stored.server) ?? this.#stored;
    this.#listener = this.#listen(this.#stored.redirectPort ?? 0) ?? this.#listen(0);
    if (!this.#listener) throw new AuthorizationError("cannot listen on 127.0.0.1");
    this.#port = this.#listener.addr.port;
    if (this.#stored.redirectPort !== this.#port) {
      // A registration names its redirect URI: a new port needs a new registration.
      if (this.#stored.client && !this.#options.clientMetadataUrl) delete this.#stored.client;
      this.#stored.redirectPort = this.#port;
    }
  }

  /** Stops the loopback listener (an authorization later starts it again on the same port). */
  async pause(): Promise<void> {
    await this.#listener?.shutdown();
    this.#listener = undefined;
  }

  #listen(port: number): Deno.HttpServer<Deno.NetAddr> | undefined {
    try {
      return Deno.serve(
        { hostname: "127.0.0.1", port, onListen: () => {} },
        (request) => this.#receive(request),
      );
    } catch (error) {
      if (port !== 0 && error instanceof Deno.errors.AddrInUse) return undefined;
      throw error;
    }
  }

  #receive(request: Request): Response {
    const url = new URL(request.url);
    if (url.pathname !== "/callback") return new Response("Not found\n", { status: 404 });
    const text = (body: string, status: number) =>
      new Response(`${body}\n`, { status, headers: { "content-type": "text/plain" } });
    if (!this.#callback || url.searchParams.get("state") !== this.#state) {
      return text("No authorization is pending here, or its state does not match.", 400);
    }
    const callback = this.#callback;
    this.#callback = undefined;
    const error = url.searchParams.get("error");
    if (error) {
      callback.reject(new AuthorizationError(`the authorization server answered ${error}`));
      return text("Authorization failed; see the terminal.", 400);
    }
    if (!url.searchParams.get("code")) {
      callback.reject(new AuthorizationError("the redirect carried no code"));
      return text("Authorization failed: no code.", 400);
    }
    callback.resolve(url.searchParams);
    return text("Authorized: you can close this window and return to mcpcomm.", 200);
  }

  /** Stops the loopback listener. */
  async close(): Promise<void> {
    this.#callback?.reject(new AuthorizationError("closed"));
    this.#callback = undefined;
    await this.#listener?.shutdown();
    this.#listener = undefined;
  }

  get redirectUrl(): string {
    return `http://127.0.0.1:${this.#port}/callback`;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "mcpcomm client",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      application_type: "native",
    } as OAuthClientMetadata;
  }

  state(): string {
    this.#state = crypto.randomUUID();
    return this.#state;
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.#options.preRegistered ?? this.#stored.client;
  }

  async saveClientInformation(info: StoredOAuthClientInformation): Promise<void> {
    if (this.#options.preRegistered) {
      this.#options.preRegistered = info;
      return;
    }
    this.#stored.client = info;
    await this.#save();
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.#stored.tokens;
  }

  async saveTokens(tokens: StoredOAuthTokens): Promise<void> {
    this.#stored.tokens = tokens;
    // The next authorization discovers again, so a moved authorization server is seen.
    this.#discovery = undefined;
    await this.#save();
  }

  /**
   * A DPoP key (RFC 9449) when the authorization server offers sender-constrained tokens and
   * the server wants them (its resource metadata, or the `dpop` option); the key lives as long
   * as the process, so a later run authorizes again.
   */
  dpop(): Promise<DpopSession> | undefined {
    const metadata = this.#discovery?.authorizationServerMetadata as
      | Record<string, unknown>
      | undefined;
    const resource = this.#discovery?.resourceMetadata as Record<string, unknown> | undefined;
    const wanted = this.#options.dpop === true ||
      resource?.dpop_bound_access_tokens_required === true ||
      Array.isArray(resource?.dpop_signing_alg_values_supported);
    if (!wanted) return this.#dpop;
    const offered = metadata?.dpop_signing_alg_values_supported;
    if (!this.#dpop && Array.isArray(offered)) {
      const alg = (DPOP_SUPPORTED_ALGS as readonly string[]).find((a) => offered.includes(a));
      if (alg) this.#dpop = DpopSession.create({ alg: alg as DpopAlg });
    }
    return this.#dpop;
  }

  redirectToAuthorization(url: URL): void {
    this.#pendingUrl = url;
  }

  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.#verifier) throw new AuthorizationError("no authorization is in progress");
    return this.#verifier;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  async invalidateCredentials(
    scope: "all" | "client" | "tokens" | "verifier" | "discovery",
  ): Promise<void> {
    if (scope === "all" || scope === "client") delete this.#stored.client;
    if (scope === "all" || scope === "tokens") delete this.#stored.tokens;
    if (scope === "all" || scope === "verifier") this.#verifier = undefined;
    if (scope === "all" || scope === "discovery") this.#discovery = undefined;
    if (scope !== "verifier" && scope !== "discovery") await this.#save();
  }

  /**
   * Completes the authorization the SDK started: shows the URL (and opens the browser, or
   * fetches it in `auto` mode), then waits for the loopback redirect; resolves to its query.
   */
  async authorize(signal: AbortSignal): Promise<URLSearchParams> {
    const url = this.#pendingUrl;
    if (!url) throw new AuthorizationError("the server asked for no authorization");
    this.#pendingUrl = undefined;
    this.#listener ??= this.#listen(this.#port);
    if (!this.#listener) throw new AuthorizationError(`port ${this.#port} is taken`);
    const callback = Promise.withResolvers<URLSearchParams>();
    callback.promise.catch(() => {});
    this.#callback = callback;
    const onAbort = () => callback.reject(new AuthorizationError("no authorization in time"));
    signal.addEventListener("abort", onAbort, { once: true });
    const tell = this.#options.tell ?? printError;
    tell(`mcpcomm client: authorize access to ${this.#stored.server} at:\n  ${url.href}`);
    try {
      if (this.#options.browser === "auto") await followToLoopback(url, this.redirectUrl);
      else if (this.#options.browser === "open") openBrowser(url);
      return await callback.promise;
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (this.#callback === callback) this.#callback = undefined;
    }
  }

  async #save(): Promise<void> {
    if (this.#file) await writeStored(this.#file, this.#stored);
  }
}
