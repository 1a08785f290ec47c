-- Append spend records to the buffer and count them (apps/core/state/journal.py explains the counters).
-- KEYS: buffer, pushed, acked, run id. ARGV[1] = a run id for a buffer that has none; then the records.
local run = redis.call('GET', KEYS[4])
if not run then
  -- New (or forgotten) buffer: what it still holds takes the first positions.
  run = ARGV[1]
  redis.call('SET', KEYS[4], run)
  redis.call('SET', KEYS[2], redis.call('LLEN', KEYS[1]))
  redis.call('SET', KEYS[3], 0)
end
local n = #ARGV - 1
local first = 2
while first <= #ARGV do
  local last = math.min(first + 999, #ARGV)  -- unpack is bounded by Lua's stack
  redis.call('RPUSH', KEYS[1], unpack(ARGV, first, last))
  first = last + 1
end
local total = redis.call('INCRBY', KEYS[2], n)
return {run, total, tonumber(redis.call('GET', KEYS[3]) or '0')}
