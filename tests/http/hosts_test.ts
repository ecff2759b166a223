import { isIpLiteral, isLoopbackHost, pathOf } from "../../src/http/hosts.ts";
import { publicUrl } from "../../src/core/public_url.ts";
import { assertEquals } from "../_assert.ts";

Deno.test("pathOf() is the pathname new URL() gives, plain or not", () => {
  const urls = [
    "http://127.0.0.1:8000/process",
    "http://[::1]:8000/health/ready?verbose=1",
    "https://b.example/x-y_z~/",
    "http://h",
    "http://h/",
    "http://h//process",
    "http://h/a/../process",
    "http://h/./process",
    "http://h/%2e%2e/process",
    "http://h/proc%65ss",
    "http://h/a b",
    "http://h/ä",
    "http://h/a\\b",
    "http://h?x/process",
    "http://h#x/process",
    "http://h\\x/process",
    "http://user@h/x/process",
    "http://h/p?q#f",
  ];
  for (const url of urls) assertEquals(pathOf(url), new URL(url).pathname, url);
});

Deno.test("publicUrl() drops credentials, query and fragment", () => {
  assertEquals(publicUrl("http://u:p@host:11434/v1?key=k#f"), "http://host:11434/v1");
  assertEquals(publicUrl("https://api.openai.com/v1"), "https://api.openai.com/v1");
});

Deno.test("isLoopbackHost() counts only localhost and loopback IP literals", () => {
  const loopback = [
    "localhost",
    "LOCALHOST",
    "127.0.0.1",
    "127.1.2.3",
    "127.255.255.255",
    "::1",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "::ffff:127.0.0.1",
    "[::ffff:7f00:1]",
  ];
  for (const host of loopback) assertEquals(isLoopbackHost(host), true, host);
  const others = [
    "127.0.0.1.evil.com",
    "127.evil.com",
    "127.0.0.1.nip.io",
    "localhost.evil.com",
    "localhost.",
    "a.localhost",
    "127.0.0.256",
    "0127.0.0.1",
    "127.1",
    "::1%lo",
    "[::1",
    "::",
    "::ffff:10.0.0.1",
    "0.0.0.0",
    "10.0.0.1",
    "example.com",
    "",
  ];
  for (const host of others) assertEquals(isLoopbackHost(host), false, host);
});

Deno.test("isIpLiteral() knows IPv4 and IPv6 literals from DNS names that look like them", () => {
  for (const host of ["10.0.0.1", "0.0.0.0", "255.255.255.255", "::", "fd00::1", "[fd00::1]"]) {
    assertEquals(isIpLiteral(host), true, host);
  }
  for (
    const host of ["1.2.3.4.evil.com", "256.1.1.1", "1.2.3", "01.2.3.4", "[fd00::1", "a::b::c", "x"]
  ) {
    assertEquals(isIpLiteral(host), false, host);
  }
});
