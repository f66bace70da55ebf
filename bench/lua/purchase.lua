-- POST /api/v1/purchases with a unique Idempotency-Key per request (run nonce, thread, counter), for
-- members drawn round robin from a file of "member_id store_id amount_fen" lines. Ids stay strings:
-- LuaJIT numbers are doubles and would lose the 63-bit ids.
-- wrk -s purchase.lua URL -- MEMBERS_FILE NONCE ; the bearer key comes from -H.
local rows = {}
local counter = 0
local nonce = "x"
local threads_seen = 0

function setup(thread)
  thread:set("thread_no", threads_seen)
  threads_seen = threads_seen + 1
end

function init(args)
  for line in io.lines(args[1]) do
    local member, store, amount = line:match("^(%d+) (%d+) (%d+)$")
    rows[#rows + 1] = {member = member, store = store, amount = amount}
  end
  nonce = args[2] .. "-" .. tostring(thread_no or 0)
  counter = (thread_no or 0) * 7919
end

function request()
  counter = counter + 1
  local row = rows[(counter % #rows) + 1]
  local body = '{"member_id": "' .. row.member .. '", "store_id": "' .. row.store .. '", "receipt_no": "'
    .. nonce .. "-" .. counter .. '", "lines": [{"line_id": "1", "regular_fen": ' .. row.amount .. '}]}'
  local headers = {}
  for name, value in pairs(wrk.headers) do  -- the -H ones (the bearer key): a headers table replaces them
    headers[name] = value
  end
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = "bench-" .. nonce .. "-" .. counter
  return wrk.format("POST", "/api/v1/purchases", headers, body)
end

done = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
