-- Settle one intent of a dead owner, exactly once: 1 when this call settled it, 0 when its owner is alive again
-- or another sweeper (or the owner) settled it first.
-- KEYS[1] = the owner's alive mark, KEYS[2] = its intents hash, KEYS[3..] = the ledgers of the call's levels.
-- ARGV[1] = now, ARGV[2] = request id, ARGV[3] = 'ledger' (admitted by the ledger: release its reservation) or
-- 'lease' (admitted under the owner's lease, which is reclaimed on its own), ARGV[4] = reserved, ARGV[5] = the
-- cost charged, ARGV[6] = clipped marks; levels from ARGV[7].
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return 0 end
local ledger = ARGV[3] == 'ledger'
local reserved = tonumber(ARGV[4])
local actual = tonumber(ARGV[5])
local clipped = ARGV[6]
for i = 3, #KEYS do
  local level = i - 2
  local rec = refresh(KEYS[i], level_args(level, 7))
  if ledger then
    rec.reserved = math.max(0, rec.reserved - reserved)
    if string.sub(clipped, level, level) == '1' then rec.clipped = math.max(0, rec.clipped - 1) end
    rec.par = math.max(0, rec.par - 1)
  end
  rec.spent = rec.spent + actual
  rec.par_ts = now
  save(KEYS[i], rec)
end
return 1
