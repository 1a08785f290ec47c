-- KEYS[1] = the level's ledger hash, KEYS[2] = its leases hash (holder -> "held expires").
-- ARGV[2] = holder, [3] = budget wanted, [4] = rpm slots wanted, [5] = tpm tokens wanted, [6], [7], [8] = the
-- least budget, slots and tokens worth leasing, [9] = lease end (epoch), [10] = share (a lease takes at most
-- 1/share of what is left), [11] = grace seconds after which a lease past its end belongs to a dead process;
-- level from ARGV[12].
-- A want of 0 asks for none of that allowance (the holder still has enough). Returns {1, budget, rpm slots,
-- tpm tokens} reserved for the holder, or {0, 0, 0, 0} when a wanted allowance would be less than its least:
-- the level is close to a limit and its callers admit one call at a time.
local holder = ARGV[2]
local want_budget, want_rpm, want_tpm = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local least, least_slots, least_tokens = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local expires, share, grace = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local lvl = level_args(1, 12)
local rec = refresh(KEYS[1], lvl)
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  local held, ends = lease_entry(entries[i + 1])
  if ends + grace < now then
    rec.reserved = math.max(0, rec.reserved - held)
    redis.call('HDEL', KEYS[2], entries[i])
  end
end
local budget, rpm, tpm = 0, 0, 0
local ok = rec.clipped == 0 and lvl.par < 0
if ok and lvl.budget >= 0 and want_budget > 0 then
  budget = math.min(want_budget, math.floor((lvl.budget - rec.spent - rec.reserved) / share))
  ok = budget >= least
end
roll(rec, 'rpm')
roll(rec, 'tpm')
if ok and lvl.rpm >= 0 and want_rpm > 0 then
  rpm = math.min(want_rpm, math.floor((lvl.rpm - rec.rpm_n) / share))
  ok = rpm >= least_slots
end
if ok and lvl.tpm >= 0 and want_tpm > 0 then
  tpm = math.min(want_tpm, math.floor((lvl.tpm - rec.tpm_n) / share))
  ok = tpm >= least_tokens
end
if not ok then
  save(KEYS[1], rec)
  return {0, 0, 0, 0}
end
rec.reserved = rec.reserved + budget
rec.rpm_n = rec.rpm_n + rpm
rec.tpm_n = rec.tpm_n + tpm
rec.par_ts = now
save(KEYS[1], rec)
local prior = redis.call('HGET', KEYS[2], holder)
local held = budget
if prior then held = held + lease_entry(prior) end
keep_lease(KEYS[2], holder, held, expires)
return {1, budget, rpm, tpm}
