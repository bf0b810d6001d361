-- wrk script for bench.processes: POSTs one GraphQL body, rotating the bearer tokens given
-- (one request each in turn), and counts every answer that is not a 200 without "errors".
--   wrk -t1 -c8 -d8s -s bench/wrk_graphql.lua http://127.0.0.1:PORT/graphql -- BODY TOKENS
-- BODY is a file holding the JSON body; TOKENS a file of bearer tokens, one a line.
-- done() prints one line, "WRK_RESULT {json}", that bench/wrk.py reads.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

local function read(path)
   local file = assert(io.open(path, "rb"))
   local text = file:read("*a")
   file:close()
   return text
end

local requests = {}
local next_request = 1
failures = 0
first_failure = ""

function init(args)
   local body = read(args[1])
   for token in read(args[2]):gmatch("[^\r\n]+") do
      local headers = {
         ["Content-Type"] = "application/json",
         ["Accept"] = "application/json",
         ["Authorization"] = "Bearer " .. token,
      }
      table.insert(requests, wrk.format("POST", nil, headers, body))
   end
   assert(#requests > 0, "no tokens in " .. args[2])
end

function request()
   local r = requests[next_request]
   next_request = next_request % #requests + 1
   return r
end

function response(status, headers, body)
   if status ~= 200 or body:find('"errors"', 1, true) then
      failures = failures + 1
      if first_failure == "" then
         first_failure = "HTTP " .. status .. ": " .. body:sub(1, 300)
      end
   end
end

local function quote(s)
   return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
   local failed, first = 0, ""
   for _, thread in ipairs(threads) do
      failed = failed + thread:get("failures")
      if first == "" then first = thread:get("first_failure") end
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests": %d, "duration_us": %d, "socket_errors": %d, ' ..
      '"timeouts": %d, "failures": %d, "first_failure": %s, ' ..
      '"p50_ms": %.3f, "p99_ms": %.3f}\n',
      summary.requests, summary.duration, e.connect + e.read + e.write, e.timeout,
      failed, quote(first),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
