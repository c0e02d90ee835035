-- wrk script of bench/spine. Each wrk thread is one client with one keep-alive connection.
-- SPINE_REQUESTS names a file of lines "<client> <token> <path>": client i sends its own lines in
-- turn, with its own access token. SPINE_METHOD is GET or POST; SPINE_BODY is the body of a POST.
-- done() prints one line, "SPINE {json}", that the harness reads.

local clients = 0

function setup(thread)
  thread:set("client", clients)
  clients = clients + 1
end

local prepared = {}
local turn = 0

function init(args)
  local method = os.getenv("SPINE_METHOD")
  local body = os.getenv("SPINE_BODY")
  for line in io.lines(os.getenv("SPINE_REQUESTS")) do
    local c, token, path = line:match("^(%d+) (%S+) (%S+)$")
    if tonumber(c) == client then
      local headers = { ["Authorization"] = "Bearer " .. token }
      if body then
        headers["Content-Type"] = "application/json"
      end
      prepared[#prepared + 1] = wrk.format(method, path, headers, body)
    end
  end
  if #prepared == 0 then
    error("no requests for client " .. tostring(client))
  end
end

function request()
  turn = turn % #prepared + 1
  return prepared[turn]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('SPINE {"requests":%d,"micros":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
      .. '"timeout":%d,"p50":%d,"p99":%d}\n', summary.requests, summary.duration, e.connect, e.read, e.write,
      e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
