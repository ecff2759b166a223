/**
 * nginx for tests: one process with its own folder for pid, logs and temporary files, serving
 * `site` (the `http` block's content), stopped and removed when disposed.
 * @module
 */
import { assert } from "./_assert.ts";
import { tempDir } from "./_helpers.ts";

/** Runs nginx with `site` inside its `http` block until disposed; `nginx -t` must accept it. */
export async function startNginx(
  site: string,
  options: { prefix?: string; workerConnections?: number } = {},
): Promise<AsyncDisposable> {
  const dir = await tempDir({ prefix: options.prefix ?? "mcpcomm-nginx-" });
  const conf = `${dir}/nginx.conf`;
  await Deno.writeTextFile(`${dir}/site.conf`, site);
  await Deno.writeTextFile(
    conf,
    `daemon off;
worker_processes 1;
user root root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${options.workerConnections ?? 64}; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`,
  );
  const test = await new Deno.Command("nginx", { args: ["-t", "-c", conf], stderr: "piped" })
    .output();
  assert(test.success, `nginx -t: ${new TextDecoder().decode(test.stderr)}`);
  const child = new Deno.Command("nginx", { args: ["-c", conf], stdout: "null", stderr: "null" })
    .spawn();
  return {
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
