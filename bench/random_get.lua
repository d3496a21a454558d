-- wrk script for scripts/bench (case `welfare`): GET PREFIX..ID..SUFFIX for an id picked at random
-- from a file of ids (one a line), with a bearer token. With MAEUL_WRK_PAUSE_MS set, each
-- connection waits that long between its requests (wrk's delay(): a paced stream, not a closed loop).
--   wrk ... -s bench/random_get.lua URL -- IDS_FILE TOKEN PREFIX [SUFFIX]
local ids, token, prefix, suffix = {}, "", "", ""
local pause = tonumber(os.getenv("MAEUL_WRK_PAUSE_MS") or "0") or 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  token, prefix, suffix = args[2], args[3], args[4] or ""
  -- a different sequence per thread and per run
  local addr = tostring({}):match("0x(%x+)") or "0"
  math.randomseed(os.time() + tonumber(addr:sub(-6), 16))
end

function request()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", prefix .. id .. suffix, { ["Authorization"] = "Bearer " .. token })
end

if pause > 0 then
  function delay() return pause end
end
