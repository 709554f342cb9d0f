-- wrk script of the scanroute redirect benchmark (driven by run.py).
--
-- Usage: wrk ... -s scan.lua http://127.0.0.1:PORT -- WORKLOAD_FILE
--
-- WORKLOAD_FILE (written by workload.py) holds tab-separated lines:
--   S  slug                      codes to scan (one picked at random per request)
--   A  weight  bot(0|1)  ua      user agents
--   L  weight  accept-language   ("" = header absent; bots never send it)
--   Q  weight  query-string      ("" = none, else "?a=b")
--   N  weight  a.b               client networks: sent as X-Forwarded-For a.b.x.y (optional)
--   R  share                     share of requests made by an earlier visitor of this thread
--
-- Every thread counts requests written (request()) and responses by status class
-- (response()); done() adds them up over the threads and prints one line
--   WRK_RESULT {json}
-- with wrk's summary, latency percentiles (microseconds) and those counts.

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

-- per-thread counters (globals so that done() can read them with thread:get)
sent, s1, s2, s3, s4, s5, sx = 0, 0, 0, 0, 0, 0, 0

local slugs, nslugs = {}, 0
local agents, agent_cum = {}, {}
local langs, lang_cum = {}, {}
local queries, query_cum = {}, {}
local nets, net_cum = {}, {}
local returning = 0
local pool, pool_size, pool_max = {}, 0, 2000
local host = "127.0.0.1"

local function add(items, cum, weight, item)
  local total = cum[#cum] or 0
  items[#items + 1] = item
  cum[#cum + 1] = total + weight
end

local function pick(items, cum)
  local r = math.random() * cum[#cum]
  local lo, hi = 1, #cum
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cum[mid] < r then lo = mid + 1 else hi = mid end
  end
  return items[lo]
end

local function new_visitor()
  local agent = pick(agents, agent_cum)
  local lines = "User-Agent: " .. agent.ua .. "\r\n"
  if agent.bot then
    lines = lines .. "Accept: */*\r\n"
  else
    lines = lines .. "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
      .. "Accept-Encoding: gzip, deflate, br\r\n"
    local lang = pick(langs, lang_cum)
    if lang ~= "" then
      lines = lines .. "Accept-Language: " .. lang .. "\r\n"
    end
  end
  if #nets > 0 then
    local ip = pick(nets, net_cum) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
    lines = lines .. "X-Forwarded-For: " .. ip .. "\r\n"
  end
  return lines
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
  for _ = 1, 10 do math.random() end
  host = wrk.host .. ":" .. tostring(wrk.port)
  local f = assert(io.open(args[#args], "r"))  -- the last argument after "--"
  for line in f:lines() do
    local kind, rest = line:match("^(%u)\t(.*)$")
    if kind == "S" then
      nslugs = nslugs + 1
      slugs[nslugs] = "/" .. rest
    elseif kind == "A" then
      local w, bot, ua = rest:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      add(agents, agent_cum, tonumber(w), { ua = ua, bot = bot == "1" })
    elseif kind == "L" then
      local w, value = rest:match("^([^\t]*)\t?(.*)$")
      add(langs, lang_cum, tonumber(w), value)
    elseif kind == "Q" then
      local w, value = rest:match("^([^\t]*)\t?(.*)$")
      add(queries, query_cum, tonumber(w), value)
    elseif kind == "N" then
      local w, value = rest:match("^([^\t]*)\t(.*)$")
      add(nets, net_cum, tonumber(w), value)
    elseif kind == "R" then
      returning = tonumber(rest)
    end
  end
  f:close()
  assert(nslugs > 0 and #agents > 0, "workload file has no slugs or agents")
end

function request()
  sent = sent + 1
  local visitor
  if pool_size > 0 and math.random() < returning then
    visitor = pool[math.random(pool_size)]
  else
    visitor = new_visitor()
    if pool_size < pool_max then
      pool_size = pool_size + 1
      pool[pool_size] = visitor
    else
      pool[math.random(pool_max)] = visitor
    end
  end
  return "GET " .. slugs[math.random(nslugs)] .. pick(queries, query_cum) .. " HTTP/1.1\r\n"
    .. "Host: " .. host .. "\r\n" .. visitor .. "\r\n"
end

function response(status, headers, body)
  if status >= 300 and status < 400 then
    s3 = s3 + 1
  elseif status >= 200 and status < 300 then
    s2 = s2 + 1
  elseif status >= 400 and status < 500 then
    s4 = s4 + 1
  elseif status >= 500 and status < 600 then
    s5 = s5 + 1
  elseif status >= 100 and status < 200 then
    s1 = s1 + 1
  else
    sx = sx + 1
  end
end

function done(summary, latency, requests)
  local total = { sent = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, sx = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(total) do
      total[name] = total[name] + (thread:get(name) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"sent":%d,"status":{"1xx":%d,"2xx":%d,"3xx":%d,"4xx":%d,"5xx":%d,"other":%d},'
      .. '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    total.sent, total.s1, total.s2, total.s3, total.s4, total.s5, total.sx,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
