-- wrk script of the QR HTTP benchmark (driven by bench_http.py).
--
-- Usage: wrk ... -s http.lua http://127.0.0.1:PORT -- PATHS_FILE API_KEY
--
-- PATHS_FILE holds tab-separated lines "path<TAB>etag"; a non-empty etag is sent as
-- If-None-Match (the 304 scenario). One line is picked at random per request. done() prints
--   WRK_RESULT {json}
-- with the request count, duration, non-2xx/3xx responses and latency percentiles (µs).

local lines = {}
local key = ""

function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    local path, etag = line:match("^([^\t]*)\t?(.*)$")
    table.insert(lines, {path = path, etag = etag})
  end
  f:close()
  key = args[2]
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
end

function request()
  local item = lines[math.random(#lines)]
  local headers = {["Authorization"] = "Bearer " .. key}
  if item.etag ~= "" then
    headers["If-None-Match"] = item.etag
  end
  return wrk.format("GET", item.path, headers)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "bad_status": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
