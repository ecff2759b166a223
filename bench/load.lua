-- wrk script of `deno task bench`, configured by environment variables:
--   BENCH_BODY      the POST body; "{ID}" in it becomes a JSON-RPC id unique to each request
--   BENCH_SESSIONS  comma-separated Mcp-Session-Id values; requests rotate through them
--   BENCH_HEADERS   more request headers, one "Name: value" a line
--   BENCH_EXPECT    every response body must contain this (else counted as bad)
--   BENCH_REJECT    no response body may contain this (else counted as bad)
--   BENCH_DELAY_MS  pause of each connection between its requests (paced, fixed load)
-- done() prints one line "BENCH_JSON {...}" with the counts and latency percentiles.

local body = os.getenv("BENCH_BODY") or ""
local sessions_env = os.getenv("BENCH_SESSIONS") or ""
local expect = os.getenv("BENCH_EXPECT") or ""
local reject = os.getenv("BENCH_REJECT") or ""
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local extra_headers = {}
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then extra_headers[name] = value end
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
for name, value in pairs(extra_headers) do wrk.headers[name] = value end

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local dynamic = sessions_env ~= "" or body:find("{ID}", 1, true) ~= nil

if dynamic then
  local sessions = {}
  local turn = 0
  local next_id = 0

  function init(args)
    for sid in sessions_env:gmatch("[^,]+") do table.insert(sessions, sid) end
    next_id = (index or 0) * 1000000000
  end

  function request()
    next_id = next_id + 1
    local headers = {
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json, text/event-stream",
    }
    for name, value in pairs(extra_headers) do headers[name] = value end
    if #sessions > 0 then
      turn = turn % #sessions + 1
      headers["Mcp-Session-Id"] = sessions[turn]
      headers["MCP-Protocol-Version"] = "2025-11-25"
    end
    return wrk.format(nil, nil, headers, (body:gsub("{ID}", tostring(next_id))))
  end
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

bad = 0
sample = ""

if expect ~= "" or reject ~= "" then
  function response(status, headers, resbody)
    if status < 200 or status > 299 then
      if sample == "" then sample = status .. " " .. resbody:sub(1, 300) end
      return
    end
    local ok = true
    if expect ~= "" and not resbody:find(expect, 1, true) then ok = false end
    if ok and reject ~= "" and resbody:find(reject, 1, true) then ok = false end
    if not ok then
      bad = bad + 1
      if sample == "" then sample = status .. " " .. resbody:sub(1, 300) end
    end
  end
end

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
  local bad_total, first_sample = 0, ""
  for _, thread in ipairs(threads) do
    bad_total = bad_total + (thread:get("bad") or 0)
    local s = thread:get("sample") or ""
    if first_sample == "" then first_sample = s end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"bad":%d,"sample":%s,"latencyUs":{"p50":%d,"p90":%d,"p99":%d,' ..
      '"mean":%.1f,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, bad_total, quote(first_sample), latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
