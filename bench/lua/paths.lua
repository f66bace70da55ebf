-- GET one path after another from a file (one per line), round robin, each thread from its own offset.
-- wrk -s paths.lua URL -- PATHS_FILE ; headers come from -H.
local paths = {}
local counter = 0
local threads_seen = 0

function setup(thread)
  thread:set("thread_no", threads_seen)
  threads_seen = threads_seen + 1
end

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  counter = (thread_no or 0) * 7919
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

done = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
